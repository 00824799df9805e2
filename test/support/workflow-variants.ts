import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { repoRoot } from './processes';

/**
 * A copy of the workflow code with one edit, for tests that show what `shopflow replay` says about
 * a change. The copy lives under test/artifacts (git-ignored) so that its imports still resolve.
 */
export interface WorkflowVariant {
  workflowsPath: string;
  remove(): void;
}

export function workflowVariant(edit: (orderSource: string) => string): WorkflowVariant {
  const root = path.join(repoRoot, 'test', 'artifacts', `workflows-${randomUUID().slice(0, 8)}`);
  mkdirSync(root, { recursive: true });
  for (const folder of ['workflows', 'domain', 'activities']) {
    cpSync(path.join(repoRoot, folder), path.join(root, folder), { recursive: true });
  }
  const order = path.join(root, 'workflows', 'orders', 'order.ts');
  const original = readFileSync(order, 'utf8');
  const edited = edit(original);
  if (edited === original) throw new Error('the edit changed nothing in workflows/orders/order.ts');
  writeFileSync(order, edited);
  return {
    workflowsPath: path.join(root, 'workflows', 'index.ts'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Adds `statement` right after the saga enters the payment step, importing what it uses (and is not imported yet). */
export function beforePayment(statement: string, imports: string[]): (source: string) => string {
  return (source) => {
    const missing = imports.filter((name) => !source.includes(`  ${name},\n`));
    return source
      .replace("    enter('take-payment');\n", `    enter('take-payment');\n    ${statement}\n`)
      .replace('  setHandler,\n', `  setHandler,\n${missing.map((name) => `  ${name},\n`).join('')}`);
  };
}
