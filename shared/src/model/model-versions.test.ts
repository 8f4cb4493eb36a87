import { mkdtempSync, rmSync, unlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { writeModelBundle } from '../../../tests/support/model-bundles';
import { eventually, plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { modelDir, startTestWorker } from '../../../tests/support/worker';
import { redisKeys } from '../queues';
import { ModelRegistry } from '../store/model-registry';
import { WorkerRegistry } from '../store/worker-registry';
import { readModelConfig } from './model-config';
import { type SwitchOptions, SwitchFailedError, switchModel } from './model-versions';

/**
 * switchModel against real Redis and a real worker (in this process): the shipped model (A), a
 * relabelled copy it can load (B), and a copy whose ONNX graph is corrupt (C).
 */
jest.setTimeout(120_000);

const TIMEOUT_MS = 30_000;
const B = 'sha256:switch-b';
const C = 'sha256:switch-c-corrupt';
const work = mkdtempSync(join(tmpdir(), 'triage-switch-'));
const dirB = join(work, 'b');
const dirC = join(work, 'c');
writeModelBundle(dirB, B);
writeModelBundle(dirC, C);
unlinkSync(join(dirC, 'onnx'));
mkdirSync(join(dirC, 'onnx'));
writeFileSync(join(dirC, 'onnx', 'model_quantized.onnx'), 'not an onnx graph');

const prefix = uniquePrefix('switch');
const keys = redisKeys(prefix);
let redis: Redis;
let models: ModelRegistry;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let opts: SwitchOptions;
const A = readModelConfig(modelDir()).model_version;

beforeAll(async () => {
  redis = plainRedis();
  models = new ModelRegistry(redis, keys);
  opts = { redis, keys, models, timeoutMs: TIMEOUT_MS };
  // announcements drive the switches here: a poll must not be what makes them converge
  worker = await startTestWorker(prefix, { MODEL_POLL_INTERVAL_MS: '3600000' });
  await eventually('the worker live', async () => ((await new WorkerRegistry(redis, keys).live()).length === 1 ? true : undefined));
  // what the gateway and the CLI do before the first promotion, so rollback can return to A
  await models.promote(A, modelDir());
});
afterAll(async () => {
  await worker?.close();
  await redis.quit();
  rmSync(work, { recursive: true, force: true });
});

const failedSwitch = (change: () => ReturnType<ModelRegistry['promote']>) =>
  switchModel(opts, change).then(
    () => {
      throw new Error('the switch succeeded');
    },
    (err: unknown) => {
      if (!(err instanceof SwitchFailedError)) throw err;
      return err;
    },
  );

describe('switchModel', () => {
  it('undoes a promotion no worker can load to the registry record before it, so rollback returns to the version before', async () => {
    expect((await switchModel(opts, () => models.promote(B, dirB))).active).toMatchObject({ version: B, previous_version: A });
    const before = await models.active();

    const err = await failedSwitch(() => models.promote(C, dirC));
    expect(err.restored).toBe(B);
    expect(err.aftermath).toBe(`${B} is active again`);
    expect([...err.failures.values()]).toEqual([expect.stringMatching(/onnx|protobuf|load/i)]);
    expect(await models.active()).toEqual(before);

    const back = await switchModel(opts, () => models.rollback());
    expect(back).toMatchObject({ active: { version: A, previous_version: B }, workers: 1 });
  });

  it('does not undo a promotion that someone made while a failed switch waited for the workers', async () => {
    const before = await models.active();
    // another promotion lands between the switch's failure and its undo
    const racing = Object.create(models) as ModelRegistry;
    racing.restore = async (record, switched) => {
      await models.promote(B, dirB);
      return models.restore(record, switched);
    };
    const err = await switchModel({ ...opts, models: racing }, () => models.promote(C, dirC)).then(
      () => Promise.reject(new Error('the switch succeeded')),
      (e: unknown) => e as SwitchFailedError,
    );
    expect(err).toBeInstanceOf(SwitchFailedError);
    expect(err.restored).toBeNull();
    expect(err.aftermath).toBe(`not undone: ${B} was made active meanwhile and stays active`);
    expect(await models.active()).toMatchObject({ version: B, previous_version: C });
    expect(await models.active()).not.toEqual(before);
    // leave the registry as the next test expects it
    await switchModel(opts, () => models.promote(before!.version, before!.dir));
  });

  it('answers a second request for a version a worker failed to load with its load failure, without waiting for the timeout', async () => {
    const before = await models.active();
    await failedSwitch(() => models.promote(C, dirC));
    // a switch counts reports from up to 1 s before it (clocks differ between hosts): asked again
    // later, the first failure's report is too old to answer it
    await new Promise((r) => setTimeout(r, 1_500));
    const started = Date.now();
    const err = await failedSwitch(() => models.promote(C, dirC));
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
    expect([...err.failures.values()]).toEqual([expect.stringMatching(/onnx|protobuf|load/i)]);
    expect(await models.active()).toEqual(before);
  });
});
