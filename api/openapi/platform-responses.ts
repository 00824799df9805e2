import { z } from 'zod';
import { timestamp, uuid } from './responses';

/** Response bodies of the platform's own routes: probes (workflows/probe.ts) and health (platform/health.ts). */

const probeStep = z.enum(['record-request', 'check-redis', 'record-completion', 'completed']);

export const probe = z
  .object({
    probeId: uuid,
    workflowId: z.string(),
    status: z.string().meta({ description: '`RUNNING`, `COMPLETED`, or the workflow status (e.g. `FAILED`)' }),
    state: z.object({ step: probeStep, completedSteps: z.array(probeStep) }).optional(),
    result: z.object({ probeId: uuid, postgresMs: z.number(), redisMs: z.number(), completedAt: timestamp }).optional(),
  })
  .meta({ id: 'Probe' });

const healthStatus = z.enum(['UP', 'DEGRADED', 'DOWN']);

export const healthReport = z
  .object({
    status: healthStatus,
    checks: z.record(
      z.string(),
      z.object({
        status: healthStatus,
        responseTimeMs: z.number(),
        error: z.string().optional(),
        detail: z.string().optional(),
        optional: z.literal(true).optional(),
        lastError: z.object({ message: z.string(), at: timestamp }).optional(),
      }),
    ),
    checkedAt: timestamp,
  })
  .meta({ id: 'HealthReport' });

export const liveness = z.object({ status: z.literal('UP'), uptimeSeconds: z.number() }).meta({ id: 'Liveness' });
