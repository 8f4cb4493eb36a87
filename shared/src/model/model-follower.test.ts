import type { Redis } from 'ioredis';
import { eventually, plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { silentLogger } from '../logger';
import { redisKeys } from '../queues';
import { ModelRegistry } from '../store/model-registry';
import { type ModelFollower, followActiveModel } from './model-follower';

const BROKEN = 'sha256:broken';

describe('followActiveModel', () => {
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  let models: ModelRegistry;
  let follower: ModelFollower;
  let serving: string;
  let loads: string[];
  const processId = 'worker:w1';

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(async () => {
    keys = redisKeys(uniquePrefix('follower'));
    models = new ModelRegistry(redis, keys);
    serving = 'sha256:a';
    loads = [];
    await models.promote(serving, '/models/a');
    follower = await followActiveModel({
      registry: models,
      subscriber: redis.duplicate(),
      channel: keys.modelEvents,
      // the announcements drive these tests; a poll is a check() the test makes itself
      pollIntervalMs: 3_600_000,
      processId,
      current: () => serving,
      load: async (active) => {
        loads.push(active.version);
        if (active.version === BROKEN) throw new Error('protobuf parsing failed');
        serving = active.version;
      },
      logger: silentLogger(),
    });
  });
  afterEach(() => follower.stop());
  afterAll(async () => {
    await redis.quit();
  });

  const failureReported = () =>
    eventually(`${processId} reporting it failed to load ${BROKEN}`, async () => {
      const report = (await models.reports())[processId];
      return report?.version === BROKEN && !report.ok ? report : undefined;
    }, { timeoutMs: 5_000 });

  it('reports a version it cannot load once, and does not retry it on every poll', async () => {
    await models.promote(BROKEN, '/models/broken');
    expect((await failureReported()).error).toMatch(/protobuf/);
    await follower.check();
    await follower.check();
    expect(loads).toEqual([BROKEN]);
    expect(serving).toBe('sha256:a');
  });

  it('tries a version that failed again when it is asked for again, and reports the outcome at once', async () => {
    const before = (await models.active())!;
    const switched = await models.promote(BROKEN, '/models/broken');
    await failureReported();
    // undone the way switchModel does, then the same broken version is promoted again
    await models.restore(before, switched);
    await redis.hdel(keys.modelReports, processId);
    await models.promote(BROKEN, '/models/broken');
    expect((await failureReported()).error).toMatch(/protobuf/);
    expect(loads).toEqual([BROKEN, BROKEN]);
    expect(serving).toBe('sha256:a');
  });
});
