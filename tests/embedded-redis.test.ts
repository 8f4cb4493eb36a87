import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisServerHandle, startRedisServer } from '../scripts/src/embedded-redis';

let dir: string;
let server: RedisServerHandle | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'embedded-redis-'));
});
afterEach(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function withClient<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

describe('embedded redis-server persistence', () => {
  it.each(['always', 'everysec'] as const)('runs with appendfsync %s and keeps acknowledged writes across a SIGKILL', async (appendfsync) => {
    server = await startRedisServer({ dataDir: dir, appendfsync });
    const { port } = server;
    expect(await withClient(server.url, (r) => r.config('GET', 'appendfsync'))).toEqual(['appendfsync', appendfsync]);
    await withClient(server.url, (r) => r.set('acknowledged', 'yes'));

    server.process.kill('SIGKILL');
    await server.stop();
    server = await startRedisServer({ dataDir: dir, appendfsync, port });
    expect(await withClient(server.url, (r) => r.get('acknowledged'))).toBe('yes');
  });

  it('defaults to everysec', async () => {
    server = await startRedisServer({ dataDir: dir });
    expect(await withClient(server.url, (r) => r.config('GET', 'appendfsync'))).toEqual(['appendfsync', 'everysec']);
  });
});
