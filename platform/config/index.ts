/**
 * Every setting of shopflow, read from the environment once at start-up and passed down.
 * Nothing else reads `process.env`: a process with bad settings stops before it touches anything.
 *
 * Each area of settings is one zod schema (runtime.ts, services.ts, orders.ts, …) that declares each
 * variable once: where it lands in `Config`, its name, default and meaning. `Config` is inferred from
 * them, and `.env.example` and docs/configuration.md are generated from them (reference.ts).
 */
export { ConfigError, CONFIG_EXIT_CODE, loadConfig, loadConfigOrExit } from './load';
export { configDefaults, type Config, type ConfigVariable } from './schema';
export type { BucketLimit, RateLimitClass, RateLimitScope } from './access';
export type { CacheKind } from './read-models';
