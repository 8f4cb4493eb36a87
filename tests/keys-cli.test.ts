import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ApiKeyStore, redisKeys } from '@triage/shared';
import { plainRedis, testRedisUrl, uniquePrefix } from './support/test-redis';

/** The compiled `npm run keys` entry point against the test Redis. */
const KEYS = join(__dirname, '..', 'scripts', 'dist', 'keys.js');
const prefix = uniquePrefix('keys');
const keys = (...args: string[]) =>
  spawnSync(process.execPath, [KEYS, ...args], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix },
    encoding: 'utf8',
    timeout: 20_000,
  });

const redis = plainRedis();
afterAll(() => redis.quit());
const store = new ApiKeyStore(redis, redisKeys(prefix));

describe('npm run keys', () => {
  it('creates a key with several scopes, prints it on the last line, lists and revokes it', async () => {
    const created = keys('create', '--name', 'alice', '--scope', 'agent', '--scope', 'admin');
    expect(created.status).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^trk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(await store.authenticate(key)).toMatchObject({ name: 'alice', scopes: ['agent', 'admin'] });

    const listed = JSON.parse(keys('list', '--json').stdout) as { id: string; name: string; scopes: string[]; revoked_at: string | null }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'alice', scopes: ['agent', 'admin'], revoked_at: null })]);
    expect(JSON.stringify(listed)).not.toContain(key.slice(-43));
    expect(keys('list').stdout).toMatch(new RegExp(`${listed[0]!.id}\\s+alice\\s+agent,admin .* active`));

    const revoked = keys('revoke', listed[0]!.id);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(/revoked API key/);
    expect(await store.authenticate(key)).toBeNull();
    expect(keys('list').stdout).toMatch(/revoked \d{4}-/);
  });

  it.each([
    [['create', '--name', 'bob'], /--scope/],
    [['create', '--name', 'bob', '--scope', 'root'], /one of: client, agent, admin/],
    [['create', '--scope', 'client'], /--name is required/],
    [['revoke', 'not-an-id'], /16 hex/],
    [['frobnicate'], /unknown command/],
    [[], /no command/],
  ])('refuses %j with usage (exit 64)', (args, message) => {
    const result = keys(...args);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/usage:/);
  });

  it('fails with exit 1 for a key id that does not exist', () => {
    const result = keys('revoke', '0123456789abcdef');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no API key 0123456789abcdef/);
  });
});
