import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from '../platform/config/reference';

/** Writes `.env.example` and docs/configuration.md from the configuration schemas in platform/config/. */
const root = path.resolve(__dirname, '..');
for (const file of generatedFiles) {
  writeFileSync(path.join(root, file.path), file.render());
  process.stdout.write(`wrote ${file.path}\n`);
}
