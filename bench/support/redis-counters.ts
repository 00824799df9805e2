import type { Redis } from 'ioredis';

/**
 * What a Redis server did: calls per command since it started (INFO commandstats), and the pid of
 * redis-server (INFO server) for its CPU time. Both are server-wide: measure on a Redis that
 * serves nothing else (bench/support/redis-server.ts starts one).
 */

export type CommandCalls = Map<string, number>;

export async function commandCalls(redis: Redis): Promise<CommandCalls> {
  const calls: CommandCalls = new Map();
  // Lines like `cmdstat_xadd:calls=12,usec=345,usec_per_call=28.75,rejected_calls=0,failed_calls=0`.
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/** Calls per command between two readings, without the INFO calls the readings themselves made. */
export function callsBetween(before: CommandCalls, after: CommandCalls): CommandCalls {
  const delta: CommandCalls = new Map();
  for (const [command, calls] of after) {
    const n = calls - (before.get(command) ?? 0);
    if (n > 0 && command !== 'info') delta.set(command, n);
  }
  return delta;
}

export async function redisServerPid(redis: Redis): Promise<number> {
  const match = /process_id:(\d+)/.exec(await redis.info('server'));
  if (!match) throw new Error('INFO server has no process_id');
  return Number(match[1]);
}
