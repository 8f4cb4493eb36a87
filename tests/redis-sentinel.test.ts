import { Redis } from 'ioredis';
import { TriageClient } from '../scripts/src/client';
import { freePort } from '../scripts/src/embedded-redis';
import { type Stack, startStack } from '../scripts/src/stack';
import { type RedisSentinelHandle, SENTINEL_MASTER, startRedisSentinel } from './support/redis-sentinel';
import { eventually, uniquePrefix } from './support/test-redis';
import { modelDir } from './support/worker';

/** The compiled gateway and a worker find Redis through a real Sentinel, and follow it through a failover. */
let redis: RedisSentinelHandle;
let stack: Stack;
let client: TriageClient;

beforeAll(async () => {
  redis = await startRedisSentinel();
  stack = await startStack({
    // Only the master's credentials and database are taken from REDIS_URL with Sentinels.
    redisUrl: 'redis://127.0.0.1:1',
    port: await freePort(),
    workers: 1,
    env: { REDIS_SENTINELS: redis.sentinelUrl, REDIS_SENTINEL_MASTER: SENTINEL_MASTER, REDIS_PREFIX: uniquePrefix('sentinel'), MODEL_DIR: modelDir(), LOG_LEVEL: 'warn' },
    quiet: true,
    keyName: 'sentinel',
  });
  client = new TriageClient(stack.url, stack.apiKey);
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

// Right after a failover the gateway answers 503 until its connection reached the new master: retried.
const submitted = (body: string) => eventually('a ticket accepted', () => client.submit({ body }).catch(() => undefined), { intervalMs: 200 });
const processed = (id: string) => eventually(`ticket ${id} processed`, async () => ((await client.get(id).catch(() => undefined))?.status === 'processed' ? true : undefined), { intervalMs: 100 });

describe('through Redis Sentinel', () => {
  it('the services triage and lease tickets, and keep doing so on the replica Sentinel promotes', async () => {
    const [master, replica] = redis.servers;
    expect(await redis.masterPort()).toBe(master!.port);
    const before = await submitted('My invoice shows a charge twice');
    await processed(before);

    // Replication is asynchronous: fail over once the replica has everything (docs/deployment.md).
    const offset = (server: typeof master) => redis.replication(server!, 'master_repl_offset');
    await eventually('the replica caught up with the master', async () => ((await offset(replica)) === (await offset(master)) ? true : undefined));
    await redis.sentinel.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER);
    await eventually('Sentinel naming the replica as master', async () => ((await redis.masterPort()) === replica!.port ? true : undefined), { intervalMs: 100 });
    // Until Sentinel has demoted it, the old master still takes writes that the new one never sees.
    await eventually('the old master demoted to a replica', async () => ((await redis.replication(master!, 'role')) === 'slave' ? true : undefined), { intervalMs: 100 });

    const after = await submitted('The mobile app crashes when I open settings');
    await processed(after);
    // Written before the failover, read from the promoted replica.
    await processed(before);
    const leased = [await client.next(), await client.next()].map((t) => t?.ticket_id).sort();
    expect(leased).toEqual([before, after].sort());
  });

  it('answer 503, not 500, while the master refuses writes for want of an in-sync replica', async () => {
    const [demoted, promoted] = redis.servers;
    const master = new Redis(promoted!.url);
    try {
      await master.config('SET', 'min-replicas-to-write', '1');
      await demoted!.stop();
      await eventually('the promoted master without replicas', async () => ((await redis.replication(promoted!, 'connected_slaves')) === '0' ? true : undefined), { intervalMs: 100 });
      const res = await fetch(`${stack.url}/v2/tickets`, {
        method: 'POST',
        headers: client.headers({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ body: 'Nothing may be written now' }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      master.disconnect();
    }
  });
});
