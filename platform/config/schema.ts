import { z } from 'zod';
import { apiKeys, rateLimit } from './access';
import { events, relay } from './events';
import { idempotency, orders, simulators } from './orders';
import { codecServer, payloads } from './payloads';
import { cache, dashboard, projections } from './read-models';
import { health, log, metrics, runtime } from './runtime';
import { database, http, redis, temporal } from './services';
import { shards } from './shards';
import { variablesOf, type VariableNames } from './variable';

/** Every area, in the order the docs list them. */
export const configAreas = z.object({
  runtime,
  log,
  http,
  database,
  shards,
  redis,
  temporal,
  health,
  metrics,
  orders,
  idempotency,
  simulators,
  payloads,
  codecServer,
  events,
  relay,
  cache,
  projections,
  dashboard,
  apiKeys,
  rateLimit,
});

/** The areas parsed into one `Config`; the process-wide settings sit at its top. */
export const configSchema = configAreas.transform(({ runtime, ...rest }) => ({ ...runtime, ...rest }));

/** Every setting of shopflow, typed as the schemas parse it. */
export type Config = z.output<typeof configSchema>;

/** The name of every environment variable shopflow reads. */
export type ConfigVariable = VariableNames<typeof configAreas>;

/** Each variable's default as written in the environment (`undefined`: none), read from the schemas. */
export const configDefaults = Object.fromEntries(
  variablesOf(configAreas).map((variable) => [variable.name, variable.default]),
) as Record<ConfigVariable, string | undefined>;
