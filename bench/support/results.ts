import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Every benchmark writes one flat JSON object of named figures (units in the names) here. */
export const resultsDir = path.resolve(__dirname, '..', 'results');

export function writeResults(script: string, figures: Record<string, number | string>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${script}.json`);
  writeFileSync(file, `${JSON.stringify({ ...figures, measured_at: new Date().toISOString() }, null, 2)}\n`);
  return file;
}
