import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { plainRedis, uniquePrefix } from '../../../tests/support/test-redis';
import { redisKeys } from '../queues';
import { SCOPES } from '../schemas';
import { ApiKeyStore } from './api-key-store';

const newKey = () => `trk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

describe('ApiKeyStore.ensure (BOOTSTRAP_API_KEY)', () => {
  let redis: Redis;
  let store: ApiKeyStore;
  let keys: ReturnType<typeof redisKeys>;

  beforeAll(() => {
    redis = plainRedis();
  });
  beforeEach(() => {
    keys = redisKeys(uniquePrefix('apikey'));
    store = new ApiKeyStore(redis, keys);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('stores a chosen key by its hash, so it authenticates with its scopes', async () => {
    const key = newKey();
    const id = key.slice(4, 20);
    expect(await store.authenticate(key)).toBeNull();
    expect(await store.ensure(key, 'bootstrap', ['admin', 'client', 'agent'])).toEqual({ id, status: 'created' });
    expect(await store.authenticate(key)).toEqual({ id, name: 'bootstrap', scopes: [...SCOPES] });
    expect(await store.authenticate(newKey().replace(/^trk_[0-9a-f]{16}/, `trk_${id}`))).toBeNull();
    const record = await redis.hgetall(keys.apiKey(id));
    expect(JSON.stringify(record)).not.toContain(key.slice(21));
    expect((await store.list()).map((k) => k.id)).toEqual([id]);
  });

  it('is idempotent and never overwrites: same key again, a revoked key, a foreign key with a taken id', async () => {
    const key = newKey();
    const { id } = await store.ensure(key, 'bootstrap', ['agent']);
    const before = await store.get(id);
    expect(await store.ensure(key, 'other', SCOPES)).toEqual({ id, status: 'exists' });
    expect(await store.get(id)).toEqual(before);
    expect((await store.list()).length).toBe(1);
    expect(await store.authenticate(key)).toMatchObject({ scopes: ['agent'] });

    await store.revoke(id);
    expect(await store.ensure(key, 'bootstrap', SCOPES)).toEqual({ id, status: 'revoked' });
    expect(await store.authenticate(key)).toBeNull();

    const impostor = newKey().replace(/^trk_[0-9a-f]{16}/, `trk_${id}`);
    await expect(store.ensure(impostor, 'bootstrap', SCOPES)).rejects.toThrow(/already taken/);
    expect(await store.authenticate(impostor)).toBeNull();
  });

  it('rejects a malformed key without echoing it and writes nothing', async () => {
    for (const bad of ['', 'trk_short_secret', newKey().toUpperCase(), `${newKey()}x`, newKey().replace('trk_', 'tk_')]) {
      const err = await store.ensure(bad, 'bootstrap', SCOPES).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/must look like trk_/);
      if (bad) expect(err?.message).not.toContain(bad);
    }
    expect(await store.list()).toEqual([]);
  });
});
