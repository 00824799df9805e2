import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Every benchmark writes one flat JSON object of named figures (units in the names) here. */
export const resultsDir = path.resolve(__dirname, '..', 'results');

export function writeResults(script: string, figures: Record<string, number | string>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${script}.json`);
  // The Node.js that ran it (and the processes it started): V8 and libuv costs differ by version.
  const stamped = { ...figures, node_version: process.version, measured_at: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(stamped, null, 2)}\n`);
  return file;
}
