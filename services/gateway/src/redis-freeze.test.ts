import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { type RedisServerHandle, startRedisServer } from '../../../tests/support/redis-server';
import { uniquePrefix } from '../../../tests/support/test-redis';
import { processTicket } from '../../../tests/support/tickets';

// A frozen Redis (SIGSTOP: a fork or AOF-rewrite stall, a network hiccup) keeps the connection
// open, so the gateway's commands sit in the socket, time out (503), and used to run anyway
// once Redis resumed: ticket records nobody was told about, and /next pops handed to nobody.
jest.setTimeout(30_000);

const COMMAND_TIMEOUT_MS = 500;
let server: RedisServerHandle;
let gw: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());
beforeEach(async () => {
  gw = buildGateway(uniquePrefix('freeze'), server.url, { REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
  await gw.ready();
  await gw.ticketsQueue.waitUntilReady();
});
afterEach(async () => {
  server.process.kill('SIGCONT');
  await gw.close();
});

/** Freezes Redis while `during` runs, then resumes it and lets the queued commands execute. */
async function whileFrozen<T>(during: () => Promise<T>): Promise<T> {
  server.process.kill('SIGSTOP');
  try {
    return await during();
  } finally {
    server.process.kill('SIGCONT');
    await gw.redis.ping(); // every command sent before this one has run now
  }
}

async function processedTicket(urgency: number): Promise<string> {
  const id = randomUUID();
  await gw.store.create({ ticket_id: id, body: `ticket with urgency ${urgency}`, accepted_at: new Date().toISOString() });
  await processTicket(gw.store, id, urgency, { category: 'Technical Support', top3: [{ category: 'Technical Support', probability: 0.9 }] });
  return id;
}

const ticketKeys = () => gw.redis.keys(gw.keys.ticket('*'));

describe('a POST answered 503 because Redis froze', () => {
  it('writes nothing once Redis resumes, with or without an Idempotency-Key', async () => {
    const answers = await whileFrozen(() =>
      Promise.all([
        ...Array.from({ length: 6 }, (_, i) => request(gw.app).post('/v2/tickets').send({ body: `frozen ${i}` })),
        ...Array.from({ length: 6 }, (_, i) => request(gw.app).post('/v2/tickets').set('Idempotency-Key', `frozen-${i}`).send({ body: `keyed ${i}` })),
      ]),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(503));

    expect(await ticketKeys()).toEqual([]);
    expect(await gw.redis.keys(`${gw.config.REDIS_PREFIX}:idempotency:*`)).toEqual([]);
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
    expect(await gw.ticketsQueue.getJobCounts('wait', 'active', 'delayed')).toEqual({ wait: 0, active: 0, delayed: 0 });

    // A retry with the same key creates the ticket exactly once.
    const retry = await request(gw.app).post('/v2/tickets').set('Idempotency-Key', 'frozen-0').send({ body: 'keyed 0' });
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await ticketKeys()).toEqual([gw.keys.ticket(retry.body.ticket_id)]);
  });
});

describe('a POST /v2/tickets/batch answered 503 because Redis froze', () => {
  it('writes none of its tickets once Redis resumes, and a retry creates each keyed one once', async () => {
    const batch = { tickets: [{ body: 'frozen a', idempotency_key: 'batch-a' }, { body: 'frozen b' }, { body: 'frozen c', idempotency_key: 'batch-c' }] };
    const answer = await whileFrozen(() => request(gw.app).post('/v2/tickets/batch').send(batch));
    expect(answer.status).toBe(503);

    expect(await ticketKeys()).toEqual([]);
    expect(await gw.redis.keys(`${gw.config.REDIS_PREFIX}:idempotency:*`)).toEqual([]);
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });

    const retry = await request(gw.app).post('/v2/tickets/batch').send(batch);
    expect(retry.status).toBe(202);
    expect(retry.body.results.map((r: { replayed?: boolean }) => r.replayed ?? false)).toEqual([false, false, false]);
    expect(await ticketKeys()).toHaveLength(3);
  });
});

describe('GET /v2/tickets/next answered 503 because Redis froze', () => {
  it('leaves the ticket in the queue for the next agent', async () => {
    const id = await processedTicket(0.9);
    const answer = await whileFrozen(() => request(gw.app).get('/v2/tickets/next'));
    expect(answer.status).toBe(503);

    const next = await request(gw.app).get('/v2/tickets/next');
    expect(next.status).toBe(200);
    expect(next.body.ticket_id).toBe(id);
  });

  it('returns a lease nobody acknowledged once it expires, also when Redis froze past its expiry', async () => {
    const leasing = buildGateway(gw.config.REDIS_PREFIX, server.url, { REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), LEASE_TTL_MS: '1000' });
    try {
      await leasing.ready();
      const id = await processedTicket(0.8);
      // An agent takes the ticket and is never heard of again.
      const taken = await request(leasing.app).get('/v2/tickets/next').set('X-Agent-Id', 'vanished');
      expect(taken.body).toMatchObject({ ticket_id: id, lease: { agent_id: 'vanished' } });
      await whileFrozen(() => new Promise((r) => setTimeout(r, 1_500)));

      const next = await request(leasing.app).get('/v2/tickets/next').set('X-Agent-Id', 'colleague');
      expect(next.status).toBe(200);
      expect(next.body).toMatchObject({ ticket_id: id, lease: { agent_id: 'colleague' } });
    } finally {
      await leasing.close();
    }
  });
});
