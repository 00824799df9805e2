import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `node --import tsx dev/exit-with-parent.ts <entry>`: runs one of shopflow's entry points (worker,
 * API, relay, …) as a child of `npm start` (dev/child-process.ts) that stops when the supervisor dies,
 * even by SIGKILL, which it cannot catch to stop us, instead of holding its port and connections
 * with nobody left to stop it.
 *
 * Why the IPC channel: the kernel closes it the instant the parent dies, however it dies, and Node
 * turns that into a 'disconnect' event: no delay and no polling. Polling `process.ppid` would notice
 * only at the next tick and costs a timer in every process; stdin is the program's own and could be
 * closed or read by it. The channel carries no messages.
 *
 * The child then gets the SIGTERM it would get from a normal stop, so it shuts down as usual (the
 * worker hands back its tasks, the API closes its server); if that takes longer than a few seconds
 * (Temporal and PostgreSQL may be going away at the same moment), it exits anyway.
 *
 * A launcher rather than a preload (`--import`): worker threads (the worker's workflow threads)
 * inherit preloads, and have nothing to watch.
 */
const hardExitAfterMs = 5_000;

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node --import tsx dev/exit-with-parent.ts <entry point>\n');
  process.exit(2);
}

if (process.channel) {
  // The channel must not keep a child alive that has otherwise finished.
  process.channel.unref();
  process.once('disconnect', () => {
    setTimeout(() => process.exit(1), hardExitAfterMs).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}

// The entry point sees the arguments it would see if run directly.
process.argv.splice(1, 1);
import(pathToFileURL(path.resolve(entry)).href).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
