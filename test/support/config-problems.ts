import { ConfigError, loadConfig } from '../../platform/config';

/** What loadConfig says is wrong with an environment, one `VARIABLE message` per problem. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable} ${p.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}
