import { redisKeys } from '@triage/shared';
import { TriageClient } from '../scripts/src/client';
import { freePort } from '../scripts/src/embedded-redis';
import { type Stack, startStack } from '../scripts/src/stack';
import { loadSampleTickets } from '../scripts/src/ticket-samples';
import { eventually, plainRedis, testRedisUrl, uniquePrefix } from './support/test-redis';
import { modelDir } from './support/worker';

/** The real processes (compiled gateway + two workers) against the test Redis, with the default AUTH=on. */
let stack: Stack;
let client: TriageClient;
const prefix = uniquePrefix('e2e');

beforeAll(async () => {
  stack = await startStack({
    redisUrl: testRedisUrl(),
    port: await freePort(),
    workers: 2,
    env: { REDIS_PREFIX: prefix, MODEL_DIR: modelDir(), LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '2', MAINTENANCE_INTERVAL_MS: '500' },
    quiet: true,
    keyName: 'e2e',
  });
  client = new TriageClient(stack.url, stack.apiKey);
});
afterAll(() => stack?.stop());

const json = async (path: string) => {
  const res = await fetch(`${stack.url}${path}`, { headers: client.headers() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('gateway + worker processes', () => {
  it('refuse the API without a key and serve it with the minted one', async () => {
    expect(stack.apiKey).toMatch(/^trk_/);
    const anonymous = await fetch(`${stack.url}/v2/tickets/status`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: expect.stringMatching(/API key/) });
    expect((await json('/v2/tickets/status')).status).toBe(200);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });

  it('become ready with both workers on one model version', async () => {
    const ready = await eventually('/ready answering with two workers', async () => {
      const r = await json('/ready');
      return r.status === 200 && r.body.workers === 2 ? r : undefined;
    });
    expect((ready.body.model_versions as string[]).length).toBe(1);
  });

  it('triage real tickets end to end and lease them out by effective priority', async () => {
    const { tickets } = loadSampleTickets(8);
    const ids = await Promise.all(tickets.map((t) => client.submit(t.subject ? { subject: t.subject, body: t.body } : { body: t.body })));
    const results = await Promise.all(ids.map((id) => client.settled(id)));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'processed'));

    const popped = [];
    for (let t = await client.next(); t; t = await client.next()) popped.push(t);
    expect(popped.map((t) => t.ticket_id).sort()).toEqual([...ids].sort());
    // Leased to the API key's principal (its key id), not to 'anonymous'.
    expect(popped.every((t) => t.status === 'leased')).toBe(true);
    expect([...new Set(popped.map((t) => t.lease?.agent_id))]).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
    // Accepted within a second of each other, so aging moves the order by < 0.0001 at most.
    const priorities = popped.map((t) => t.urgency_score!);
    for (let i = 1; i < priorities.length; i += 1) expect(priorities[i]!).toBeLessThanOrEqual(priorities[i - 1]! + 1e-4);
    expect((await json('/v2/tickets/status')).body).toMatchObject({ pending: 0, processing: 0, processed: 0, leased: 8, waiting_for_agent: 0 });
  });

  it('return a lease nobody acknowledged to the queue through the workers\' scheduled sweep', async () => {
    const redis = plainRedis();
    const keys = redisKeys(prefix);
    try {
      const [id] = await redis.zrange(keys.leases, 0, 0);
      // One lease's expiry moved into the past, as LEASE_TTL_MS (15 min) later; reads below never reclaim.
      const past = Date.now() - 1;
      await redis.multi().zadd(keys.leases, past, id!).hset(keys.ticket(id!), 'lease_expires_at', past).exec();
      await eventually(`ticket ${id} processed`, async () => ((await json(`/v2/tickets/${id}`)).body.status === 'processed' ? true : undefined));
      expect((await json('/v2/tickets/status')).body).toMatchObject({ processed: 1, leased: 7, waiting_for_agent: 1 });
    } finally {
      redis.disconnect();
    }
  });

  it('honours Idempotency-Key across requests', async () => {
    const post = () =>
      fetch(`${stack.url}/v2/tickets`, {
        method: 'POST',
        headers: client.headers({ 'Content-Type': 'application/json', 'Idempotency-Key': 'e2e-key' }),
        body: JSON.stringify({ body: 'My laptop will not boot' }),
      });
    const [a, b] = [await post(), await post()];
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.headers.get('location')).toBe(a.headers.get('location'));
  });

  it('a worker stops cleanly on SIGTERM and leaves /ready', async () => {
    const worker = stack.workers[0]!;
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    const ready = await json('/ready');
    expect(ready.body.workers).toBe(1);
    // The remaining worker still serves.
    expect((await client.settled(await client.submit({ body: 'Still there?' }))).status).toBe('processed');
  });

  it('the gateway stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => stack.gateway.once('exit', (code) => r(code)));
    stack.gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
