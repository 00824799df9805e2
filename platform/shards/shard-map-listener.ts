import { Client } from 'pg';
import type { Logger } from '../logger';

/**
 * Shard map changes pushed rather than polled: a statement trigger on `shard_map` notifies
 * `shard_map_changed` with the new version at the commit of every map change (migration
 * 20261207160000_shard_map_notify). One connection per router LISTENs, so a router that hears
 * nothing asks nothing: no query per request or activity.
 *
 * Notifications are not durable: a connection that drops misses them. So the router is told when
 * the connection is lost (it then treats its map as stale and checks the version itself, as it did
 * before there was a listener) and when it listens again (some change may have gone unheard: it
 * checks once). Every `safetyCheckMs` the version is also read on the listening connection itself,
 * which proves that connection alive (a server gone silent fails the read and counts as lost) and
 * catches anything missed; at the default of 30 s that is one query per process every 30 s.
 */

export const SHARD_MAP_CHANNEL = 'shard_map_changed';
/** How the listening connection names itself in pg_stat_activity. */
export const SHARD_MAP_LISTENER_NAME = 'shopflow-shard-map-listener';
const RECONNECT_MS = 1_000;
/** A safety read that takes longer than this counts as a lost connection. */
const SAFETY_READ_TIMEOUT_MS = 5_000;

export interface ShardMapListenerHandlers {
  /** The map is at `version` now (a notification, or the safety read). */
  version(version: number): void;
  /** Listening (again): changes from now on are heard; some before may not have been. */
  listening(): void;
  /** Not listening any more: changes go unheard until `listening` is called again. */
  lost(): void;
}

export interface ShardMapListener {
  close(): Promise<void>;
}

export function listenForShardMapChanges(
  connectionString: string,
  handlers: ShardMapListenerHandlers,
  { safetyCheckMs, logger }: { safetyCheckMs: number; logger?: Logger | undefined },
): ShardMapListener {
  let client: Client | undefined;
  let closed = false;
  let reconnect: NodeJS.Timeout | undefined;
  let safetyCheck: NodeJS.Timeout | undefined;

  /** Gives up `current` (once) and tries again a moment later. */
  const drop = (current: Client, error: unknown): void => {
    if (client !== current) return;
    client = undefined;
    clearInterval(safetyCheck);
    handlers.lost();
    current.end().catch(() => undefined);
    if (closed) return;
    logger?.warn({ err: error }, 'shard map listener lost its connection; routers check the map version themselves');
    reconnect = setTimeout(() => void connect(), RECONNECT_MS);
    reconnect.unref();
  };

  const connect = async (): Promise<void> => {
    const current = new Client({
      connectionString,
      application_name: SHARD_MAP_LISTENER_NAME,
      query_timeout: SAFETY_READ_TIMEOUT_MS,
    });
    client = current;
    current.on('notification', (message) => {
      const version = Number(message.payload);
      if (Number.isInteger(version)) handlers.version(version);
    });
    current.on('error', (error) => drop(current, error));
    current.on('end', () => drop(current, new Error('the listening connection ended')));
    try {
      await current.connect();
      await current.query(`LISTEN ${SHARD_MAP_CHANNEL}`);
    } catch (error) {
      drop(current, error);
      return;
    }
    if (client !== current) return; // closed meanwhile
    handlers.listening();
    safetyCheck = setInterval(() => {
      current.query<{ version: number }>('SELECT version FROM shard_map').then(
        ({ rows }) => rows[0] && handlers.version(rows[0].version),
        (error: unknown) => drop(current, error),
      );
    }, safetyCheckMs);
    safetyCheck.unref();
  };
  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(reconnect);
      clearInterval(safetyCheck);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
