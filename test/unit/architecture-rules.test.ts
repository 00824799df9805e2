import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * The layer rules must fail the build, not wait for a review. This runs the project's own
 * ESLint and dependency-cruiser configurations over a miniature tree of deliberate violations
 * (test/fixtures/lint-violations) and checks each one is reported, and the allowed imports are not.
 */
const repoRoot = path.resolve(__dirname, '..', '..');
const fixtureDir = path.join(repoRoot, 'test', 'fixtures', 'lint-violations');
const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);

interface Finding {
  file: string;
  rule: string;
}

function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: fixtureDir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function eslintFindings(): { status: number | null; findings: Finding[] } {
  const { status, stdout, stderr } = run(bin('eslint'), [
    '--config',
    path.join(repoRoot, 'eslint.config.mjs'),
    '--format',
    'json',
    '.',
  ]);
  if (!stdout.trim().startsWith('[')) throw new Error(`eslint did not report JSON: ${stderr || stdout}`);
  const results = JSON.parse(stdout) as { filePath: string; messages: { ruleId: string | null }[] }[];
  const findings = results.flatMap((r) =>
    r.messages.map((m) => ({ file: path.relative(fixtureDir, r.filePath), rule: m.ruleId ?? 'parse-error' })),
  );
  return { status, findings };
}

const dependencyCruiserArgs = [
  '--config',
  path.join(repoRoot, '.dependency-cruiser.cjs'),
  'workflows',
  'domain',
  'api',
  'platform',
  'activities',
];

function dependencyCruiserFindings(): { status: number | null; findings: Finding[] } {
  // The JSON reporter always exits 0; the default reporter's exit code is what fails `npm run lint`.
  const { status } = run(bin('depcruise'), dependencyCruiserArgs);
  const { stdout, stderr } = run(bin('depcruise'), [...dependencyCruiserArgs, '--output-type', 'json']);
  if (!stdout.trim().startsWith('{')) throw new Error(`dependency-cruiser did not report JSON: ${stderr || stdout}`);
  const report = JSON.parse(stdout) as { summary: { violations: { from: string; rule: { name: string } }[] } };
  return { status, findings: report.summary.violations.map((v) => ({ file: v.from, rule: v.rule.name })) };
}

describe('architecture rules', () => {
  jest.setTimeout(120_000);

  it('ESLint catches I/O in workflows and domain, activities called from the API, parts imported into platform/ or the API into activities, an activity or route picking a database for order-side data, and floating promises', () => {
    const { status, findings } = eslintFindings();

    expect(status).toBe(1);
    expect(findings).toEqual(
      expect.arrayContaining([
        { file: 'workflows/uses-node-builtin.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'workflows/uses-platform.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'workflows/uses-activity-implementation.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'domain/uses-platform.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'api/calls-activity.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'platform/uses-events.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'activities/uses-api.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'api/floating-promise.ts', rule: '@typescript-eslint/no-floating-promises' },
        { file: 'activities/picks-shard.ts', rule: '@typescript-eslint/no-restricted-imports' },
        { file: 'api/picks-shard.ts', rule: 'no-restricted-syntax' },
      ]),
    );
    expect(findings.filter((f) => f.file === 'workflows/allowed.ts')).toEqual([]);
  });

  it('dependency-cruiser catches the same layer violations on the import graph', () => {
    const { status, findings } = dependencyCruiserFindings();

    expect(status).not.toBe(0);
    expect(findings).toEqual(
      expect.arrayContaining([
        { file: 'workflows/uses-node-builtin.ts', rule: 'workflows-no-node-builtins' },
        { file: 'workflows/uses-platform.ts', rule: 'workflows-no-infrastructure' },
        { file: 'workflows/uses-activity-implementation.ts', rule: 'workflows-activity-types-only' },
        { file: 'domain/uses-platform.ts', rule: 'domain-is-pure' },
        { file: 'api/calls-activity.ts', rule: 'api-no-activities' },
        { file: 'platform/uses-events.ts', rule: 'platform-imports-no-part' },
        { file: 'activities/uses-api.ts', rule: 'activities-no-api' },
      ]),
    );
    expect(findings.filter((f) => f.file === 'workflows/allowed.ts')).toEqual([]);
  });
});
