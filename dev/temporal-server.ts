import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../platform/logger';
import { goInstall, goModuleCache, shopflowCacheDir } from './go-install';

/**
 * The Temporal server as a cluster runs it (frontend, history, matching and worker services as
 * separate processes on PostgreSQL), and its SQL tool that creates and migrates the schemas. The
 * version is the one the pinned CLI's dev server embeds (dev/temporal-cli.ts: CLI v1.5.1 runs
 * server 1.29.1), so that the dev server and the cluster run the same server code and a history
 * recorded on one replays as on the other.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const SERVER_MODULE = 'go.temporal.io/server';

export interface TemporalServerBinaries {
  /** `temporal-server`: `--root … --config … --env … start --service …`. */
  server: string;
  /** `temporal-sql-tool`: `create`, `setup-schema`, `update-schema`. */
  sqlTool: string;
  /** The versioned schema folders of the module (`update-schema -d`). */
  schemas: { temporal: string; visibility: string };
}

function cached(): Omit<TemporalServerBinaries, 'schemas'> {
  const dir = shopflowCacheDir('temporal-server', TEMPORAL_SERVER_VERSION);
  return { server: path.join(dir, 'server'), sqlTool: path.join(dir, 'sql') };
}

function schemaDirs(): TemporalServerBinaries['schemas'] {
  const root = path.join(goModuleCache(), `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  return { temporal: path.join(root, 'temporal', 'versioned'), visibility: path.join(root, 'visibility', 'versioned') };
}

/** The server and its SQL tool, built now with `go install` when not cached (1–3 minutes here). */
export async function ensureTemporalServer(logger: Logger): Promise<TemporalServerBinaries> {
  const binaries = cached();
  const binDir = path.dirname(binaries.server);
  const builds = [
    { what: 'the Temporal server', pkg: `${SERVER_MODULE}/cmd/server`, path: binaries.server },
    { what: "the Temporal server's SQL tool", pkg: `${SERVER_MODULE}/cmd/tools/sql`, path: binaries.sqlTool },
  ];
  for (const build of builds) {
    if (!existsSync(build.path)) {
      await goInstall(logger, { what: build.what, pkg: build.pkg, version: TEMPORAL_SERVER_VERSION, binDir });
    }
  }
  // The sources `go install` fetched carry the schemas; an older cache may have been cleaned.
  const schemas = schemaDirs();
  if (!existsSync(schemas.temporal)) {
    await goInstall(logger, {
      what: "the Temporal server's schemas",
      pkg: `${SERVER_MODULE}/cmd/tools/sql`,
      version: TEMPORAL_SERVER_VERSION,
      binDir,
    });
  }
  return { ...binaries, schemas };
}
