import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';
import { placeOrderThroughApi } from '../support/api-orders';
import { shopflow, shopflowWith } from '../support/cli';
import {
  eventually,
  requiredEnv,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';
import { repoRoot } from '../support/processes';
import { beforePayment, workflowVariant } from '../support/workflow-variants';

/**
 * The `shopflow` command as developers and operators use it: replay histories from files and from
 * the server, export them, read a saga's timeline, and get exit codes and one-line errors right.
 */
const historiesDir = path.join(repoRoot, 'test', 'histories');

describe('shopflow CLI', () => {
  describe('offline, on files', () => {
    it('replays every recorded history: exit 0 and a summary', () => {
      const run = shopflow('replay', '--dir', historiesDir);

      expect(run.status).toBe(0);
      const count = readdirSync(historiesDir).filter((f) => f.endsWith('.json')).length;
      expect(run.stdout).toMatch(new RegExp(`replayed ${count} histories: ${count} ok, 0 failed, in [\\d.]+ s`));
    });

    it('a deliberately non-deterministic change to the order workflow fails replay (exit 1) naming the event', () => {
      const variant = workflowVariant(beforePayment('await sleep(1);', ['sleep']));
      try {
        const run = shopflow('replay', '--dir', historiesDir, '--workflows-path', variant.workflowsPath, '--json');

        expect(run.status).toBe(1);
        const report = JSON.parse(run.stdout) as {
          failed: number;
          failures: {
            workflowId: string;
            runId: string;
            file: string;
            divergence: { eventId: number; eventType: string; explanation: string };
          }[];
        };
        const delivered = report.failures.find((f) => f.file.endsWith('order-delivered.json'));
        // Named by the workflow id its history records, with the run, as a user looks it up.
        expect(delivered?.workflowId).toMatch(/^order-[0-9a-f-]{36}$/);
        expect(delivered?.runId).toMatch(/^[0-9a-f-]{36}$/);
        // The recorded charge is where the changed code starts a timer instead.
        expect(delivered?.divergence).toMatchObject({
          eventType: 'ActivityTaskScheduled',
          explanation: expect.stringContaining('starts a timer'),
        });
        const history = JSON.parse(readFileSync(path.join(historiesDir, 'order-delivered.json'), 'utf8')) as {
          events: { eventId: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
        };
        const charge = history.events.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'chargePayment',
        );
        expect(delivered?.divergence.eventId).toBe(Number(charge?.eventId));
        // Histories that never reached the payment step are unaffected.
        expect(report.failures.map((f) => path.basename(f.file))).not.toContain('order-out-of-stock.json');
      } finally {
        variant.remove();
      }
    });

    it('the same change behind patched() keeps every old history replaying (safe versioning)', () => {
      const variant = workflowVariant(
        beforePayment("if (patched('pause-before-payment')) await sleep(1);", ['sleep', 'patched']),
      );
      try {
        const run = shopflow('replay', '--dir', historiesDir, '--workflows-path', variant.workflowsPath);

        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
      } finally {
        variant.remove();
      }
    });

    it('reads a saga from a history file, offline: steps, errors and compensations in order', () => {
      const run = shopflow('saga', 'inspect', '--file', path.join(historiesDir, 'order-undeliverable.json'));

      expect(run.status).toBe(0);
      const lines = run.stdout.split('\n');
      const index = (text: string) => lines.findIndex((line) => line.includes(text));
      expect(index('createShipments  FAILED')).toBeGreaterThan(index('chargePayment  ok'));
      expect(lines[index('createShipments  FAILED')]).toContain(
        'Undeliverable: the carrier does not deliver to country ZZ',
      );
      expect(index('↩ cancel-shipments')).toBeGreaterThan(index('compensating'));
      expect(index('↩ refund-payment')).toBeGreaterThan(index('↩ cancel-shipments'));
      expect(index('↩ release-inventory')).toBeGreaterThan(index('↩ refund-payment'));
      expect(run.stdout).toContain('completed: order FAILED after Undeliverable at create-shipments');
    });

    it('names the saga after the workflow id the history records, not after the file', () => {
      const file = path.join(historiesDir, 'order-undeliverable.json');
      const recorded = JSON.parse(readFileSync(file, 'utf8')) as {
        events: { workflowExecutionStartedEventAttributes?: { workflowId?: string } }[];
      };
      const workflowId = recorded.events[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      expect(workflowId).toMatch(/^order-[0-9a-f-]{36}$/);

      const run = shopflow('saga', 'inspect', '--file', file);
      expect(run.status).toBe(0);
      expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^${workflowId}  \\(orderWorkflow, run [0-9a-f-]{36}\\)$`));

      const json = shopflow('saga', 'inspect', '--file', file, '--json');
      expect((JSON.parse(json.stdout) as { workflowId: string }).workflowId).toBe(workflowId);
    });

    it('falls back to the file name for a history that records no workflow id', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'shopflow-cli-'));
      const recorded = JSON.parse(readFileSync(path.join(historiesDir, 'order-undeliverable.json'), 'utf8')) as {
        events: { workflowExecutionStartedEventAttributes?: { workflowId?: string } }[];
      };
      delete recorded.events[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      writeFileSync(path.join(dir, 'bug-report.json'), JSON.stringify(recorded));
      try {
        const run = shopflow('saga', 'inspect', '--file', path.join(dir, 'bug-report.json'));

        expect(run.status).toBe(0);
        expect(run.stdout.split('\n')[0]).toMatch(/^bug-report {2}\(orderWorkflow, run /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.each([
      [['replay'], 'give exactly one source'],
      [['replay', '--dir', historiesDir, '--query', 'x'], 'give exactly one source'],
      [['replay', '--file', 'no-such-file.json'], 'cannot read no-such-file.json: no such file'],
      [['replay', '--dir', historiesDir, '--concurrency', '0'], '--concurrency must be a whole number ≥ 1'],
      [['replay', '--bogus'], "unknown option '--bogus'"],
      [['saga', 'inspect'], 'give a workflow id or --file'],
      [['history', 'export', '--query', 'x'], "required option '--out <dir>' not specified"],
      [['nonsense'], "unknown command 'nonsense'"],
    ])('usage error %j: one line on stderr, exit code 2', (args, message) => {
      const run = shopflow(...args);

      expect(run.status).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(message);
    });

    it('a file that is not a history: one line, exit 2', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'shopflow-cli-'));
      writeFileSync(path.join(dir, 'broken.json'), '{"events": "no"}');
      try {
        const run = shopflow('replay', '--dir', dir);
        expect(run.status).toBe(2);
        expect(run.stderr).toMatch(/^shopflow: .*broken\.json is not a workflow history in JSON/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('against the dev server, on an order placed through the API', () => {
    const config = testConfig();
    let api: TestPlatform;
    let worker: RunningWorker;
    let workflowId: string;
    let query: string;

    beforeAll(async () => {
      worker = await startWorker(config);
      api = await startApi(config);
      // Placed through the API: the workflow carries the API's memo and summary, encrypted.
      workflowId = await placeOrderThroughApi(api, { payment: { token: 'tok_declined' } });
      await api.deps.temporal.client.workflow.getHandle(workflowId).result();
      // Visibility lags behind the close of the workflow: wait until the query sees it, then ask the CLI.
      query = `WorkflowType = "orderWorkflow" AND OrderStatus = "FAILED" AND WorkflowId = "${workflowId}"`;
      await eventually(async () => {
        for await (const execution of api.deps.temporal.client.workflow.list({ query })) return execution.workflowId;
        return undefined;
      }, 40_000);
    });
    afterAll(async () => {
      await api.close();
      await worker.stop();
    });

    it('replays one execution by workflow id, and every execution a visibility query matches', () => {
      expect(shopflow('replay', '--workflow-id', workflowId).stdout).toContain('replayed 1 history: 1 ok, 0 failed');

      const run = shopflow('replay', '--query', query);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('replayed 1 history: 1 ok, 0 failed');
    });

    it('exports every execution a visibility query matches', () => {
      const out = mkdtempSync(path.join(tmpdir(), 'shopflow-export-'));
      try {
        const run = shopflow('history', 'export', '--query', query, '--out', out);

        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(run.stdout).toBe(`exported 1 history to ${out}\n`);
        expect(readdirSync(out)).toEqual([`${workflowId}.json`]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it('exports a history that replay and saga inspect then read offline', () => {
      const out = mkdtempSync(path.join(tmpdir(), 'shopflow-export-'));
      try {
        const exported = shopflow('history', 'export', '--workflow-id', workflowId, '--out', out);
        expect(exported.status).toBe(0);
        expect(readdirSync(out)).toEqual([`${workflowId}.json`]);

        expect(shopflow('replay', '--dir', out).status).toBe(0);
        const inspected = shopflow('saga', 'inspect', '--file', path.join(out, `${workflowId}.json`), '--json');
        const timeline = JSON.parse(inspected.stdout) as {
          closedAs: string;
          result: { status: string };
          entries: { kind: string; step?: string }[];
        };
        expect(timeline.closedAs).toBe('completed');
        expect(timeline.result.status).toBe('FAILED');
        expect(timeline.entries.filter((e) => e.kind === 'compensation').map((e) => e.step)).toEqual([
          'release-inventory',
        ]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it('inspects a saga straight from the server', () => {
      const run = shopflow('saga', 'inspect', workflowId);

      expect(run.status).toBe(0);
      expect(run.stdout).toContain(workflowId);
      expect(run.stdout).toContain('chargePayment  FAILED');
      expect(run.stdout).toContain('PaymentDeclined');
    });
  });
});

describe('shopflow setup', () => {
  it('registers the search attributes on a cluster that lacks them, and changes nothing the second time', async () => {
    // A server of its own, started without shopflow's search attributes.
    const bare = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: requiredEnv('SHOPFLOW_TEST_TEMPORAL_CLI') },
        ip: '127.0.0.1',
      },
    });
    try {
      const env = { TEMPORAL_ADDRESS: bare.address };
      const first = shopflowWith(env, 'setup', '--json');
      expect(first.status).toBe(0);
      expect(JSON.parse(first.stdout)).toEqual({
        added: shopflowSearchAttributes.map((k) => k.name),
        present: [],
        schedule: { scheduleId: 'seller-dashboard-recalculation', intervalMs: 3_600_000, outcome: 'created' },
      });

      const again = shopflowWith(env, 'setup');
      expect(again.status).toBe(0);
      expect(again.stdout).toContain(`0 added, ${shopflowSearchAttributes.length} already registered`);
      expect(again.stdout).toContain('schedule seller-dashboard-recalculation (every 3600000 ms): unchanged');
    } finally {
      await bare.teardown();
    }
  });

  it('says in one line when no Temporal answers', () => {
    const run = shopflowWith({ TEMPORAL_ADDRESS: '127.0.0.1:1' }, 'setup');

    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});
