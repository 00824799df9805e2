import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { shopflowDataConverter } from '../../platform/data-converter';
import { installTemporalRuntimeLogger } from '../../platform/temporal-logger';
import { placeOrderThroughApi } from '../support/api-orders';
import { shopflow } from '../support/cli';
import { historiesDir } from '../support/histories';
import { startApi, startWorker, testConfig, type RunningWorker, type TestPlatform } from '../support/platform';

/**
 * docs/replay.md: a developer replays a shopflow history with the SDK alone, given shopflow's data
 * converter and the worker's keys. `replayHistoryFile` is the page's snippet, word for word but for
 * the two paths (relative to this file): keep the two in step.
 */
async function replayHistoryFile(file: string): Promise<void> {
  const history: unknown = JSON.parse(await readFile(file, 'utf8'));
  await Worker.runReplayHistory(
    { workflowsPath: require.resolve('../../workflows'), dataConverter: shopflowDataConverter(process.env) },
    history,
  );
}

describe('replaying a history with the SDK and shopflow data converter (docs/replay.md)', () => {
  const config = testConfig();
  // The SDK's own logs (the bundler's, the replay worker's) follow LOG_LEVEL, as in every process.
  beforeAll(() => installTemporalRuntimeLogger(pino({ level: config.log.level })));

  it('replays a recorded history', async () => {
    await expect(replayHistoryFile(path.join(historiesDir, 'order-delivered.json'))).resolves.toBeUndefined();
  });

  describe('an order placed through the API, exported by `shopflow history export`', () => {
    let api: TestPlatform;
    let worker: RunningWorker;
    let out: string;
    let file: string;

    beforeAll(async () => {
      worker = await startWorker(config);
      api = await startApi(config);
      const workflowId = await placeOrderThroughApi(api, { payment: { token: 'tok_declined' } });
      await api.deps.temporal.client.workflow.getHandle(workflowId).result();
      out = mkdtempSync(path.join(tmpdir(), 'shopflow-sdk-replay-'));
      const exported = shopflow('history', 'export', '--workflow-id', workflowId, '--out', out);
      if (exported.status !== 0) throw new Error(`shopflow history export failed: ${exported.stderr}`);
      file = path.join(out, `${workflowId}.json`);
    });
    afterAll(async () => {
      rmSync(out, { recursive: true, force: true });
      await api.close();
      await worker.stop();
    });

    it('is encrypted, and replays with the converter built from the keys', async () => {
      expect(readFileSync(file, 'utf8')).toContain(Buffer.from('binary/encrypted').toString('base64'));

      await expect(replayHistoryFile(file)).resolves.toBeUndefined();
    });

    it('does not replay without the converter, nor with keys that lack the one that encrypted it', async () => {
      const history: unknown = JSON.parse(readFileSync(file, 'utf8'));
      const workflowsPath = require.resolve('../../workflows');

      await expect(Worker.runReplayHistory({ workflowsPath }, history)).rejects.toThrow(
        'Unknown encoding: binary/encrypted',
      );
      const otherKeys = { PAYLOAD_KEYS: `other:${Buffer.alloc(32, 7).toString('base64')}`, PAYLOAD_KEY_ID: 'other' };
      await expect(
        Worker.runReplayHistory({ workflowsPath, dataConverter: shopflowDataConverter(otherKeys) }, history),
      ).rejects.toThrow(
        // The SDK's core quotes the codec's message, escaping its quotes.
        new RegExp(`key id \\W*${config.payloads.currentKeyId}\\W*, which is not configured: add it to PAYLOAD_KEYS`),
      );
    });
  });
});
