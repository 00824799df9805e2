import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The README's folder map is the newcomer's guide to the code: it names every top-level folder the
 * repository holds, and nothing that is not there.
 */

const repoRoot = path.resolve(__dirname, '..', '..');

function mappedFolders(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Folder map'));
  const table = section.slice(0, section.indexOf('\n## ') > 0 ? section.indexOf('\n## ') : undefined);
  return [...table.matchAll(/^\| `([^`]+)\/`/gm)].map((m) => m[1]!);
}

/** Top-level folders of the files git tracks. */
function trackedFolders(): string[] {
  const files = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n');
  return [...new Set(files.filter((f) => f.includes('/')).map((f) => f.slice(0, f.indexOf('/'))))];
}

it('names every top-level folder of the repository, and only those', () => {
  const mapped = mappedFolders();
  expect(mapped.length).toBeGreaterThan(10);
  expect([...mapped].sort()).toEqual(trackedFolders().sort());
});
