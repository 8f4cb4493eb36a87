import type { Redis } from 'ioredis';
import { plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { redisKeys } from '../queues';
import { StatsStore, latencyBin } from './stats-store';

const DAY_MS = 86_400_000;

describe('StatsStore.recordProcessed (one script per ticket)', () => {
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  let stats: StatsStore;

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(() => {
    keys = redisKeys(uniquePrefix('stats'));
    stats = new StatsStore(redis, keys);
  });
  afterAll(async () => {
    await redis.quit();
  });

  const event = (at: number, over: Partial<Parameters<StatsStore['recordProcessed']>[1]> = {}) => ({
    at,
    category: 'Billing and Payments',
    action: 'AUTO_ROUTE',
    model_used: 'encoder',
    model_version: 'sha256:aaaa',
    urgency: 0.42,
    tokens: 57,
    latency_ms: 30,
    ...over,
  });

  it('counts every figure of a ticket once in the window, with TTLs on both buckets', async () => {
    const now = Date.now();
    await stats.recordProcessed('t1', event(now), 0.3);
    await stats.recordProcessed('t2', event(now, { category: 'IT Support', model_used: 'fallback', tokens: undefined, urgency: 0.999 }), 0.1);
    const w = await stats.window(3_600_000, now);
    expect(w.processed).toBe(2);
    expect(w.byQueue).toEqual({ 'Billing and Payments': 1, 'IT Support': 1 });
    expect(w.byAction).toEqual({ AUTO_ROUTE: 2 });
    expect(w.byModelUsed).toEqual({ encoder: 1, fallback: 1 });
    expect(w.byModelVersion).toEqual({ 'sha256:aaaa': 2 });
    expect([...w.urgency]).toEqual(expect.arrayContaining([[42, 1], [99, 1]]));
    expect([...w.tokens]).toEqual([[57, 1]]);
    expect([...w.latency]).toEqual([[latencyBin(30), 2]]);
    const bucketKeys = await redis.keys(keys.statsBucket('m', 0).replace(/m:0$/, '*'));
    expect(bucketKeys.map((k) => k.split(':').at(-2)).sort()).toEqual(['h', 'm']);
    for (const key of bucketKeys) expect(await redis.ttl(key)).toBeGreaterThan(0);
  });

  it('keeps the review list by smallest margin and drops tickets older than a day', async () => {
    const now = Date.now();
    await stats.recordProcessed('old', event(now - 2 * DAY_MS), 0.01);
    await stats.recordProcessed('sure', event(now), 0.9);
    await stats.recordProcessed('unsure', event(now), 0.05);
    expect(await stats.reviewCandidates(10, now)).toEqual([
      { ticketId: 'unsure', margin: 0.05 },
      { ticketId: 'sure', margin: 0.9 },
    ]);
    // trimmed from both indexes, not only filtered out on read
    expect(await redis.zscore(keys.reviewByMargin, 'old')).toBeNull();
    expect(await redis.zscore(keys.reviewByTime, 'old')).toBeNull();
  });
});
