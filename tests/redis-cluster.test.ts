import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ModelRegistry, type RedisClient, StatsStore, TicketStore, connectRedis, queuePolicy, redisKeys, workerConfigSchema } from '@triage/shared';
import { V1Queue } from '../services/gateway/src/v1/v1-queue';
import { StormStore } from '../services/worker/src/alerts/storm-store';
import { TriageClient } from '../scripts/src/client';
import { freePort } from '../scripts/src/embedded-redis';
import { type Stack, startStack } from '../scripts/src/stack';
import { type RedisClusterHandle, startRedisCluster } from './support/redis-cluster';
import { eventually, uniquePrefix } from './support/test-redis';
import { type WebhookReceiver, startReceiver } from './support/webhook-receiver';
import { REPO_ROOT, modelDir } from './support/worker';

/**
 * The compiled gateway and a worker on a real 3-master Redis Cluster (AUTH on), with a hash-tag prefix.
 * Every master is watched with MONITOR from the start, so the test sees each key any command
 * touched — including the keys Lua scripts (ours and BullMQ's) build inside Redis, which the
 * cluster itself does not check against the slot of the KEYS a script declared.
 */
const prefix = `{${uniquePrefix('cluster')}}`;
const keys = redisKeys(prefix);

let cluster: RedisClusterHandle;
let monitors: Redis[] = [];
let receiver: WebhookReceiver;
let stack: Stack;
let client: TriageClient;
let redis: RedisClient;
/** Every command the masters ran: its arguments, and whether a Lua script ran it. */
const commands: { args: string[]; lua: boolean }[] = [];

beforeAll(async () => {
  // With a password: the nodes the client discovers must get the seed URLs' credentials.
  cluster = await startRedisCluster(3, 'cluster-test-password');
  monitors = await Promise.all(cluster.masters.map((m) => m.monitor()));
  for (const monitor of monitors) monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ args, lua: source === 'lua' }));
  receiver = await startReceiver('/hooks/cluster');
  redis = connectRedis({ REDIS_URL: cluster.nodes[0]!, REDIS_CLUSTER_NODES: cluster.nodes }, { kind: 'worker' });
  stack = await startStack({
    redisUrl: cluster.nodes[0],
    port: await freePort(),
    workers: 1,
    env: {
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      REDIS_PREFIX: prefix,
      MODEL_DIR: modelDir(),
      LOG_LEVEL: 'warn',
      MAINTENANCE_INTERVAL_MS: '500',
      WEBHOOK_URL: `${receiver.url}`,
      WEBHOOK_SECRET: 'cluster-test-secret-0123456789',
      // Every ticket alerts, without waiting for a burst to settle.
      ALERT_THRESHOLD: '0',
      STORM_SETTLE_MS: '0',
    },
    quiet: true,
    keyName: 'cluster',
  });
  client = new TriageClient(stack.url, stack.apiKey);
  // Ready once the gateway's connection has the slot map and the worker has registered.
  await eventually('the stack ready on the cluster', async () => ((await fetch(`${stack.url}/ready`)).ok ? true : undefined));
});

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  for (const monitor of monitors) monitor.disconnect();
  await receiver?.close();
  await cluster?.stop();
});

const post = async (path: string, body?: unknown) => {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: client.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('on a 3-master Redis Cluster with a hash-tag prefix', () => {
  it('a ticket goes POST → worker → result → /next → ack, and its alert reaches the webhook', async () => {
    const id = await client.submit({ subject: 'Production database down', body: 'All customers get connection refused since 09:12, nobody can log in.' });
    const processed = await client.settled(id);
    expect(processed).toMatchObject({ ticket_id: id, status: 'processed', model_version: expect.any(String) });
    expect(processed.category).toEqual(expect.any(String));

    const leased = await client.next();
    expect(leased).toMatchObject({ ticket_id: id, status: 'leased' });
    expect((await post(`/v2/tickets/${id}/extend`)).status).toBe(200);
    expect((await post(`/v2/tickets/${id}/release`)).status).toBe(200);
    expect((await client.next())?.ticket_id).toBe(id);
    expect((await post(`/v2/tickets/${id}/feedback`, { note: 'customer on the enterprise plan' })).status).toBe(201);
    expect((await post(`/v2/tickets/${id}/ack`)).status).toBe(200);
    expect(await client.get(id)).toMatchObject({ status: 'done' });

    const alert = await eventually(`the alert of ticket ${id} delivered`, async () => receiver.delivered().find((r) => r.body.includes(id)));
    expect(alert.headers['content-type']).toMatch(/json/);
  });

  it('an expired lease goes back to the queue through the workers\' sweep', async () => {
    const id = await client.submit({ body: 'Invoice charged twice this month' });
    await client.settled(id);
    expect((await client.next())?.ticket_id).toBe(id);
    const past = Date.now() - 1;
    await redis.multi().zadd(keys.leases, past, id).hset(keys.ticket(id), 'lease_expires_at', past).exec();
    await eventually(`ticket ${id} back in the queue after its lease expired`, async () => ((await client.get(id)).status === 'processed' ? true : undefined));
  });

  it('npm run keys reaches the cluster through the same settings', () => {
    const listed = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'dist', 'keys.js'), 'list', '--json'], {
      env: { PATH: process.env.PATH ?? '', REDIS_CLUSTER_NODES: cluster.nodes.join(','), REDIS_PREFIX: prefix },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'cluster', revoked_at: null })]);
  });

  it('every script the services define runs on the cluster', async () => {
    // The same stores the services build, on a cluster connection of the test: what they define is
    // what must run below (the services' own runs count too, their scripts are the same).
    const store = new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({})));
    const stats = new StatsStore(redis, keys);
    const models = new ModelRegistry(redis, keys);
    const v1 = new V1Queue(redis, keys);
    new StormStore(redis, keys, { size: 10, windowMs: 60_000, similarity: 0.9 });

    const { ticketId } = await store.create({ ticket_id: randomUUID(), body: 'never queued', accepted_at: new Date().toISOString() });
    expect(await store.discardPending(ticketId)).toBe(true);
    const locked = (await client.get((await client.next())!.ticket_id)).ticket_id;
    // another aging rate (a restart with a new AGING_PER_HOUR) rescores the queue, the leased ticket included; then back
    await new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({ AGING_PER_HOUR: '0.5' }))).rescoreQueue();
    expect(await redis.get(`${keys.urgency}:rate`)).toBe('0.5');
    // back: a process started after that one (an older process would defer to the newer rate)
    await new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({}))).rescoreQueue();
    expect(await redis.get(`${keys.urgency}:rate`)).toBe('0.05');
    await store.markSlaAlerted(locked, 'warning');
    expect(await stats.recordSlaBreach(locked, Date.now() - 1_000)).toBe(true);
    expect(await store.startProcessing(locked, 'token', 10_000)).toEqual({ outcome: 'done', status: 'leased' });
    const started = await store.create({ ticket_id: randomUUID(), body: 'started by hand', accepted_at: new Date().toISOString() });
    expect(await store.startProcessing(started.ticketId, 'token', 10_000)).toEqual({ outcome: 'started', previous: 'pending' });
    expect(await store.renewLock(started.ticketId, 'token', 10_000)).toBe(true);
    expect(await store.releaseLock(started.ticketId, 'token')).toBe(true);
    expect(await store.transition(started.ticketId, ['processing'], 'failed')).toEqual({ applied: true, previous: 'processing' });
    // Far enough ahead that every done or processed ticket's record is due.
    expect(await store.deleteExpiredRecords(Date.now() + 10 * 365 * 86_400_000)).toBeGreaterThan(0);
    await v1.push({ ticket_id: randomUUID(), subject: null, body: 'v1', category: 'Billing', urgency_level: 3, urgency_score: 0.8, queued_at: new Date().toISOString() });
    expect(await v1.peek()).not.toBeNull();
    expect(await v1.pop()).not.toBeNull();
    await v1.push({ ticket_id: randomUUID(), subject: null, body: 'v1', category: 'Billing', urgency_level: 1, urgency_score: 0.1, queued_at: new Date().toISOString() });
    expect(await v1.drain()).toBe(1);
    await models.promote('cluster-a', modelDir());
    await models.promote('cluster-b', modelDir());
    expect(await models.rollback()).toMatchObject({ version: 'cluster-a' });
    const before = (await models.active())!;
    const switched = await models.promote('cluster-c', modelDir());
    expect(await models.restore(before, switched)).toBe(true);
    expect(await models.active()).toEqual(before);

    // A script a master ran (EVALSHA after EVAL, ioredis's way) stays in that master's script cache.
    const defined = Object.entries((redis as unknown as { scriptsSet: Record<string, { lua: string }> }).scriptsSet);
    expect(defined.length).toBeGreaterThanOrEqual(20);
    const shas = defined.map(([, script]) => createHash('sha1').update(script.lua).digest('hex'));
    const cached = await Promise.all(cluster.masters.map((m) => m.call('SCRIPT', 'EXISTS', ...shas) as Promise<number[]>));
    const notRun = defined.filter((_, i) => cached.every((flags) => flags[i] === 0)).map(([name]) => name);
    expect(notRun).toEqual([]);
  });

  it('every key any command touched — Lua-built ones included — is in the prefix\'s slot', async () => {
    const master = cluster.masters[0]!;
    const keyed = commands.filter(({ args }) => args.length > 1);
    const touched = new Set<string>();
    const replies = (await master.pipeline(keyed.map(({ args }) => ['command', 'getkeys', ...args])).exec()) ?? [];
    for (const [err, found] of replies) if (!err) for (const key of found as string[]) touched.add(key);
    const fromLua = keyed.filter(({ lua }) => lua).length;
    expect(fromLua).toBeGreaterThan(100);
    expect(touched.size).toBeGreaterThan(20);

    const slot = (key: string) => master.call('CLUSTER', 'KEYSLOT', key) as Promise<number>;
    const ours = await slot(prefix);
    const elsewhere = [];
    for (const key of touched) if ((await slot(key)) !== ours) elsewhere.push(key);
    expect(elsewhere).toEqual([]);
    // BullMQ's keys are among them: its prefix carries the hash tag too.
    expect([...touched].some((key) => key.startsWith(`${keys.bullPrefix}:tickets:`))).toBe(true);
  });
});
