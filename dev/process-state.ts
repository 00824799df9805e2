import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid is still alive. A zombie is not: it holds no port or memory,
 * and an orphan's stays until init reaps it, which some containers' init never does.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return true;
  }
}
