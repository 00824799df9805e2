import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';
import { PROMETHEUS_CONTENT_TYPE } from './metrics';

/**
 * A process's `/metrics` on a port of its own (the API's, the worker's). The worker's: its own registry, followed by the Temporal SDK's exporter output, which
 * the Rust core serves on a loopback port of its own. Proxying it here gives Prometheus one target
 * per worker and keeps the SDK's port private. The two never share a metric name (`shopflow_`,
 * `process_`/`nodejs_` from prom-client; `temporal_` from the SDK), so the texts concatenate.
 */

export interface MetricsServerOptions {
  registry: Registry;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The SDK's exporter, e.g. `http://127.0.0.1:9465/metrics`; left out when the SDK exports none. */
  sdkMetricsUrl?: string;
  logger?: Logger;
  /** How long to wait for the SDK's exporter before serving our metrics alone. */
  sdkTimeoutMs?: number;
  /** Run before each scrape, e.g. the API's readiness checks, so that their gauges are as fresh as the scrape. */
  beforeScrape?: () => Promise<unknown>;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('method not allowed\n');
      return;
    }
    metricsText(options).then(
      (text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(text),
      (error: unknown) => {
        options.logger?.error({ err: error }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    async close() {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    },
  };
}

async function metricsText(options: MetricsServerOptions): Promise<string> {
  await options.beforeScrape?.();
  const own = await options.registry.metrics();
  if (!options.sdkMetricsUrl) return own;
  try {
    const res = await fetch(options.sdkMetricsUrl, { signal: AbortSignal.timeout(options.sdkTimeoutMs ?? 2_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const sdk = await res.text();
    return `${own.endsWith('\n') ? own : `${own}\n`}${sdk}`;
  } catch (error) {
    // Our metrics still matter when the SDK's exporter is away; the gap shows as missing temporal_ series.
    options.logger?.warn({ err: error, url: options.sdkMetricsUrl }, 'temporal SDK metrics unavailable');
    return own;
  }
}
