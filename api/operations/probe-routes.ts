import { requestIdOf } from '../../platform/request-context';
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { isUuid, probeWorkflowId } from '../../domain/ids';
import type { platformProbeWorkflow, ProbeState } from '../../workflows/probe';
import { allowRoles, principalOf } from '../access/access';
import type { AppDeps } from '../deps';
import { HttpProblem, notFound } from '../http/problem';
import { parseOrProblem } from '../http/validation';
import { SagaStep } from '../../workflows/orders/search-attributes';

export const createProbeBody = z
  .object({
    note: z.string().max(500, 'must be at most 500 characters').default(''),
    probeId: z.string().refine(isUuid, 'must be a UUID').optional(),
  })
  .strict();

export const probePath = z.object({ probeId: z.string().refine(isUuid, 'must be a UUID') });

const probeStatus = {
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
} as const;

/**
 * The platform probe over HTTP: start one, then read its state and result back.
 * An operator's "is the whole platform working?" button, and the end-to-end smoke test.
 */
export function probeRoutes({ config, temporal }: AppDeps): Router {
  const router = Router();

  // Probes are the operators' tool: what they run and show is the platform's, not a customer's.
  router.post('/v1/probes', allowRoles('operator'), async (req, res) => {
    const body = parseOrProblem(createProbeBody, req.body, 'body');
    const probeId = body.probeId ?? randomUUID();
    const workflowId = probeWorkflowId(probeId);
    try {
      await temporal.client.workflow.start<typeof platformProbeWorkflow>('platformProbeWorkflow', {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [
          {
            probeId,
            workflowId,
            requestedBy: `key ${principalOf(req).keyId} from ${req.ip ?? 'unknown'}`,
            note: body.note,
          },
        ],
        workflowExecutionTimeout: config.probeTimeoutMs,
        typedSearchAttributes: [{ key: SagaStep, value: 'record-request' }],
        staticSummary: `Platform probe ${probeId}${body.note ? `: ${body.note}` : ''}`,
        memo: { requestId: requestIdOf(req) },
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw new HttpProblem(409, 'probe-exists', 'Probe already exists', `probe ${probeId} was already started`);
      }
      throw error;
    }
    res.status(202).location(`/v1/probes/${probeId}`).json({ probeId, workflowId, status: probeStatus.RUNNING });
  });

  router.get('/v1/probes/:probeId', allowRoles('operator'), async (req, res) => {
    const { probeId } = parseOrProblem(probePath, req.params, 'path');
    const workflowId = probeWorkflowId(probeId);
    const handle = temporal.client.workflow.getHandle<typeof platformProbeWorkflow>(workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notFound(`probe ${probeId} does not exist`);
      throw error;
    }
    const status = description.status.name;
    if (status === 'COMPLETED') {
      res.json({ probeId, workflowId, status: probeStatus.COMPLETED, result: await handle.result() });
      return;
    }
    if (status === 'RUNNING') {
      const state: ProbeState = await handle.query<ProbeState>('probeState');
      res.json({ probeId, workflowId, status: probeStatus.RUNNING, state });
      return;
    }
    res.json({ probeId, workflowId, status });
  });

  return router;
}
