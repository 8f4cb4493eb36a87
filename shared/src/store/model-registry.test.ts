import type { Redis } from 'ioredis';
import { plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { redisKeys } from '../queues';
import { ModelRegistry } from './model-registry';

describe('ModelRegistry', () => {
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  let models: ModelRegistry;

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(() => {
    keys = redisKeys(uniquePrefix('models'));
    models = new ModelRegistry(redis, keys);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('restore puts back the record a promotion replaced, previous and promoted_at included, and announces it', async () => {
    await models.promote('sha256:a', '/models/a');
    const before = await models.promote('sha256:b', '/models/b');
    await new Promise((r) => setTimeout(r, 5));
    const switched = await models.promote('sha256:c', '/models/c');

    const listener = redis.duplicate();
    const announced = new Promise<string>((resolve) => listener.on('message', (_channel: string, version: string) => resolve(version)));
    await listener.subscribe(keys.modelEvents);
    expect(await models.restore(before, switched)).toBe(true);
    expect(await announced).toBe('sha256:b');
    listener.disconnect();

    expect(await models.active()).toEqual(before);
    expect(await models.rollback()).toMatchObject({ version: 'sha256:a', dir: '/models/a', previous_version: 'sha256:b' });
  });

  it('restore of a record without a previous version leaves none', async () => {
    const before = await models.promote('sha256:a', '/models/a');
    const switched = await models.promote('sha256:c', '/models/c');
    expect(await models.restore(before, switched)).toBe(true);
    expect(await models.active()).toEqual(before);
    expect(await redis.hkeys(keys.modelActive)).toEqual(expect.not.arrayContaining(['previous_version', 'previous_dir']));
    expect(await models.rollback()).toBeNull();
  });

  it('restore leaves alone a promotion made after the switch it would undo, even of the same version', async () => {
    const before = await models.promote('sha256:a', '/models/a');
    const switched = await models.promote('sha256:c', '/models/c');
    const later = await models.promote('sha256:d', '/models/d');
    expect(await models.restore(before, switched)).toBe(false);
    expect(await models.active()).toEqual(later);

    await new Promise((r) => setTimeout(r, 5));
    const again = await models.promote('sha256:d', '/models/d');
    expect(await models.restore(before, later)).toBe(false);
    expect(await models.active()).toEqual(again);
  });
});
