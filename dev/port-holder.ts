import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Config } from '../platform/config';

/**
 * Before `npm start` starts anything, it makes sure each port it is about to listen on is free, and
 * when one is not, says which process holds it: a second `npm start` must refuse with a clear
 * reason, not answer "running" from the first one's servers while its own children die.
 *
 * Who holds a port is read from /proc (Linux), without tools that may not be installed (`ss`,
 * `lsof`): the listening socket's inode in /proc/net/tcp{,6}, then the process with a file
 * descriptor on that socket. Elsewhere, or without the right to look, the message names the port only.
 */
export interface PortNeed {
  host: string;
  port: number;
  /** Whose port it is, for the message: "the API". */
  owner: string;
  /** The setting that moves it: "PORT". */
  setting: string;
}

export interface PortHolder {
  pid: number;
  command: string;
  /** The `npm start` this process belongs to, if it is one of another run's children. */
  startPid?: number;
}

/**
 * The ports `npm start`'s Node children listen on. The servers it may start besides (Temporal,
 * PostgreSQL) are checked where it decides to start them: when one already answers, it is used.
 */
export function childPorts(config: Config): PortNeed[] {
  const { http, codecServer, metrics, projections } = config;
  return [
    { host: http.host, port: http.port, owner: 'the API', setting: 'PORT' },
    { host: codecServer.host, port: codecServer.port, owner: 'the codec server', setting: 'CODEC_SERVER_PORT' },
    ...(metrics.enabled
      ? [
          { host: http.host, port: metrics.apiPort, owner: "the API's metrics", setting: 'API_METRICS_PORT' },
          { host: http.host, port: metrics.workerPort, owner: "the worker's metrics", setting: 'WORKER_METRICS_PORT' },
          {
            host: '127.0.0.1',
            port: metrics.sdkPort,
            owner: "the Temporal SDK's metrics",
            setting: 'WORKER_SDK_METRICS_PORT',
          },
          {
            host: http.host,
            port: projections.metricsPort,
            owner: "the projector's metrics",
            setting: 'PROJECTOR_METRICS_PORT',
          },
        ]
      : []),
  ];
}

/** The first need whose port is taken, with a one-line explanation; undefined when all are free. */
export async function firstTakenPort(needs: PortNeed[]): Promise<string | undefined> {
  for (const need of needs) {
    if (await canListen(need.host, need.port)) continue;
    return describeTakenPort(need, findPortHolder(need.port));
  }
  return undefined;
}

export function describeTakenPort(need: PortNeed, holder: PortHolder | undefined): string {
  const taken = `port ${need.port} (${need.owner}, ${need.setting}) is already in use`;
  const fix = `set ${need.setting} to a free port`;
  if (!holder) return `${taken}: stop what listens there, or ${fix}`;
  const by = `${taken} by pid ${holder.pid} (${shorten(holder.command)})`;
  if (holder.startPid === undefined) return `${by}: stop it, or ${fix}`;
  const run = holder.startPid === holder.pid ? 'another npm start' : `another npm start (pid ${holder.startPid})`;
  return `${by}, part of ${run}: stop that one first, or ${fix}`;
}

/** Tries to listen where the child will: the only test that agrees with the child on every system. */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    // Other errors (an address not on this machine, a privileged port) are the child's to report.
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether anything accepts connections on 127.0.0.1:`port`: a child that listens is up. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningSocketInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of processIds()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const startPid = startAmongAncestors(pid);
        return { pid, command: commandLine(pid) ?? '?', ...(startPid === undefined ? {} : { startPid }) };
      }
    }
  }
  return undefined;
}

/** Inodes of the sockets listening on `port` (state 0A is TCP_LISTEN), IPv4 and IPv6. */
function listeningSocketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state !== '0A' || !local || !inode) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

function processIds(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (name) state ppid …": the name may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the `npm start` (scripts/start.ts) that `pid` is, or descends from. */
function startAmongAncestors(pid: number): number | undefined {
  for (let current: number | undefined = pid, depth = 0; current && depth < 8; depth++) {
    if (commandLine(current)?.includes('scripts/start.ts')) return current;
    current = parentOf(current);
  }
  return undefined;
}

function shorten(command: string, max = 160): string {
  return command.length <= max ? command : `${command.slice(0, max - 1)}…`;
}
