import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { bundleWorkflows } from '../platform/workflow-bundle';
import { PREBUILT_WORKFLOW_BUNDLE, workflowsPath } from '../worker/create-worker';

/**
 * The last step of `npm run build`: bundles the compiled workflows (dist/workflows) with the
 * SDK's webpack once, into dist/workflow-bundle.js, so that a production worker loads it instead
 * of running webpack at every start (Temporal's advice for production: a worker that starts in
 * seconds, with no bundler CPU on the machine that runs orders). Run from dist/ only: from the
 * TypeScript sources the worker bundles at start, as `npm start` and the tests do.
 */
const program = new Command('bundle-workflows')
  .description(`Bundle dist/workflows into dist/${PREBUILT_WORKFLOW_BUNDLE} for the production worker.`)
  .action(async () => {
    if (!__filename.endsWith('.js')) {
      process.stderr.write('bundle-workflows: run the compiled script (node dist/scripts/bundle-workflows.js)\n');
      process.exitCode = 2;
      return;
    }
    const bundle = await bundleWorkflows(workflowsPath());
    const target = path.resolve(__dirname, '..', PREBUILT_WORKFLOW_BUNDLE);
    writeFileSync(target, bundle.code);
    process.stdout.write(`bundle-workflows: wrote ${path.relative(process.cwd(), target)}\n`);
  });

void program.parseAsync();
