import { testRedisUrl, uniquePrefix } from '../../tests/support/test-redis';
import { type RedisClient, connectRedis } from './redis-connection';

const target = () => ({ REDIS_URL: testRedisUrl() });

/** A producer refuses commands until it is ready (no offline queue). */
async function connected(redis: RedisClient): Promise<RedisClient> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

describe('connectRedis', () => {
  const open: RedisClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.quit()));
  });

  it('pipelines the commands a producer issues in one event-loop turn, and they all answer', async () => {
    const redis = await connected(connectRedis(target(), { kind: 'producer', commandTimeoutMs: 2_000 }));
    open.push(redis);
    const key = `${uniquePrefix('pipe')}:n`;
    const replies = Array.from({ length: 20 }, () => redis.incr(key));
    // Still queued: they leave together once this turn ends.
    expect(redis.autoPipelineQueueSize).toBe(20);
    expect((await Promise.all(replies)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await redis.del(key);
  });

  it('leaves BullMQ\'s worker connections unpipelined', async () => {
    const redis = await connected(connectRedis(target(), { kind: 'worker' }));
    open.push(redis);
    const replies = [redis.ping(), redis.ping()];
    expect(redis.autoPipelineQueueSize).toBe(0);
    await Promise.all(replies);
  });
});
