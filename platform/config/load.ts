import { developmentPayloadKey } from './payloads';
import { configAreas, configSchema, type Config } from './schema';
import { variablesOf } from './variable';

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

const declared = variablesOf(configAreas);
const nameAt = new Map(declared.map((variable) => [variable.path.join('.'), variable.name]));

/** Parses the environment into a typed config; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, unknown> = {};
  for (const { name, path } of declared) {
    const value = env[name];
    // An empty variable means "not set", as in docker compose files with `VAR=`.
    setAt(input, path, value === '' ? undefined : value);
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: variableAt(issue.path), message: issue.message })),
    );
  }
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** Rules that tie several variables together; checked once each variable is valid on its own. */
function crossFieldProblems(config: Config): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  if (!config.payloads.keys.has(config.payloads.currentKeyId)) {
    problems.push({ variable: 'PAYLOAD_KEY_ID', message: `must name one of the keys in PAYLOAD_KEYS` });
  }
  const developmentKey = Buffer.from(developmentPayloadKey, 'base64');
  if (config.env === 'production' && [...config.payloads.keys.values()].some((key) => key.equals(developmentKey))) {
    problems.push({
      variable: 'PAYLOAD_KEYS',
      message: 'holds the public development key, which production refuses: set your own keys',
    });
  }
  return problems;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

/** The variable an issue is about: the one declared at the longest prefix of its path. */
function variableAt(path: PropertyKey[]): string {
  for (let length = path.length; length > 0; length--) {
    const name = nameAt.get(path.slice(0, length).join('.'));
    if (name) return name;
  }
  return path.join('.');
}

/** EX_CONFIG from sysexits.h: the process was started with a bad configuration. */
export const CONFIG_EXIT_CODE = 78;

/**
 * For entry points: the config, or one clear line on stderr and exit code 78.
 * Entry points call this before creating a logger, so the line is plain text.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`shopflow: ${error.message}\n`);
      process.exit(CONFIG_EXIT_CODE);
    }
    throw error;
  }
}
