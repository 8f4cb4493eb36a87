import request from 'supertest';
import { type Scope, createTicketsBatchResponseSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { expectDocumented } from '../../../../tests/support/openapi';
import { startRedisServer } from '../../../../tests/support/redis-server';
import { uniquePrefix } from '../../../../tests/support/test-redis';

let gw: TestGateway;
afterEach(() => gw.close());

const start = async (env: Record<string, string> = {}) => {
  gw = buildGateway(uniquePrefix('batch'), undefined, env);
  await gw.ready();
};

/** Every answer is also checked against the OpenAPI document (status, headers, body schema). */
const postBatch = async (body: unknown, headers: Record<string, string> = {}) => {
  const res = await request(gw.app).post('/v2/tickets/batch').set(headers).send(body as object);
  expectDocumented(res);
  return res;
};

const jobIds = async () => (await gw.ticketsQueue.getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((j) => j.id).sort();

describe('POST /v2/tickets/batch', () => {
  beforeEach(() => start());

  it('accepts the valid items of a mixed batch, in order, and stores and enqueues only those', async () => {
    const res = await postBatch({
      tickets: [
        { subject: 'Invoice wrong', body: 'I was charged twice', customer_id: 'c-1' },
        { body: '' },
        { subject: null, body: 'no subject here', metadata: { plan: 'pro' } },
        { body: 'ok', priority: 'high' },
        42,
      ],
    });
    expect(res.status).toBe(202);
    const { results } = createTicketsBatchResponseSchema.parse(res.body);
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 'accepted'],
      [1, 'invalid'],
      [2, 'accepted'],
      [3, 'invalid'],
      [4, 'invalid'],
    ]);
    expect(results[1]).toMatchObject({ errors: expect.arrayContaining([expect.objectContaining({ path: 'body' })]) });
    expect(results[3]).toMatchObject({ errors: [{ path: 'priority', message: 'unknown field' }] });

    const accepted = results.flatMap((r) => (r.status === 'accepted' ? [r] : []));
    for (const r of accepted) {
      expect(r.location).toBe(`/v2/tickets/${r.ticket_id}`);
      expect(r.replayed).toBeUndefined();
    }
    expect(await gw.store.get(accepted[0]!.ticket_id)).toMatchObject({ status: 'pending', subject: 'Invoice wrong', body: 'I was charged twice', customer_id: 'c-1' });
    expect(await gw.store.get(accepted[1]!.ticket_id)).toMatchObject({ status: 'pending', subject: null, metadata: { plan: 'pro' } });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 2 });

    expect(await jobIds()).toEqual(accepted.map((r) => r.ticket_id).sort());
    const job = await gw.ticketsQueue.getJob(accepted[0]!.ticket_id);
    expect(job?.name).toBe('triage');
    expect(job?.data).toMatchObject({ ticket_id: accepted[0]!.ticket_id, subject: 'Invoice wrong', body: 'I was charged twice', accepted_at: accepted[0]!.accepted_at });
    expect(job?.opts.attempts).toBe(gw.config.JOB_ATTEMPTS);
  });

  it('replays items by idempotency_key: same ids, replayed: true, no second ticket or job', async () => {
    const batch = { tickets: [{ body: 'first', idempotency_key: 'k-1' }, { body: 'second', idempotency_key: 'k-2' }, { body: 'no key' }] };
    const first = createTicketsBatchResponseSchema.parse((await postBatch(batch)).body).results;
    const again = await postBatch(batch);
    expect(again.status).toBe(202);
    const second = createTicketsBatchResponseSchema.parse(again.body).results;

    const ids = (rs: typeof first) => rs.map((r) => (r.status === 'accepted' ? r.ticket_id : null));
    expect(ids(second).slice(0, 2)).toEqual(ids(first).slice(0, 2));
    expect(second[2]).toMatchObject({ status: 'accepted' });
    expect(ids(second)[2]).not.toBe(ids(first)[2]);
    expect(second.map((r) => (r.status === 'accepted' ? r.replayed ?? false : null))).toEqual([true, true, false]);
    expect(second[0]).toMatchObject({ accepted_at: (first[0] as { accepted_at: string }).accepted_at });

    expect(await gw.store.statusCounts()).toMatchObject({ pending: 4 });
    expect(await jobIds()).toEqual([...new Set([...ids(first), ...ids(second)])].sort());
  });

  it('gives two items with the same idempotency_key one ticket, and shares keys with the single POST', async () => {
    const single = await request(gw.app).post('/v2/tickets').set('Idempotency-Key', 'shared').send({ body: 'single' });
    const res = await postBatch({ tickets: [{ body: 'a', idempotency_key: 'dup' }, { body: 'b', idempotency_key: 'dup' }, { body: 'c', idempotency_key: 'shared' }] });
    const { results } = createTicketsBatchResponseSchema.parse(res.body);
    expect(results[0]).toMatchObject({ status: 'accepted' });
    expect(results[1]).toMatchObject({ status: 'accepted', replayed: true, ticket_id: (results[0] as { ticket_id: string }).ticket_id });
    expect(results[2]).toMatchObject({ status: 'accepted', replayed: true, ticket_id: single.body.ticket_id });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 2 });
    expect(await jobIds()).toHaveLength(2);
  });

  it('re-enqueues a replayed ticket that is still pending but lost its job', async () => {
    const first = createTicketsBatchResponseSchema.parse((await postBatch({ tickets: [{ body: 'heal me', idempotency_key: 'heal' }] })).body).results[0]!;
    const ticketId = (first as { ticket_id: string }).ticket_id;
    await (await gw.ticketsQueue.getJob(ticketId))!.remove();
    await postBatch({ tickets: [{ body: 'heal me', idempotency_key: 'heal' }] });
    expect((await gw.ticketsQueue.getJob(ticketId))?.data).toMatchObject({ ticket_id: ticketId, body: 'heal me' });
  });

  it('reports an invalid idempotency_key as an invalid item', async () => {
    const { results } = createTicketsBatchResponseSchema.parse((await postBatch({ tickets: [{ body: 'x', idempotency_key: 'has space' }] })).body);
    expect(results[0]).toMatchObject({ status: 'invalid', errors: [expect.objectContaining({ path: 'idempotency_key' })] });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
  });

  it.each([
    ['an empty tickets array', { tickets: [] }],
    ['tickets not an array', { tickets: { body: 'x' } }],
    ['no tickets field', { body: 'x' }],
    ['a top-level array', [{ body: 'x' }]],
  ])('answers 400 JSON to %s and stores nothing', async (_name, body) => {
    const res = await postBatch(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation failed');
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
  });

  it('answers 400 JSON to malformed JSON', async () => {
    const res = await request(gw.app).post('/v2/tickets/batch').set('Content-Type', 'application/json').send('{"tickets": [');
    expectDocumented(res);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed JSON body' });
  });

  it('answers 503 with Retry-After when only the enqueue fails, and leaves no pending ticket', async () => {
    const queueServer = await startRedisServer();
    const split = buildGateway(uniquePrefix('batch-split'), undefined, {}, queueServer.url);
    try {
      await split.ready();
      await split.ticketsQueue.waitUntilReady();
      await queueServer.stop();
      const res = await request(split.app).post('/v2/tickets/batch').send({ tickets: [{ body: 'lost', idempotency_key: 'lost-1' }, { body: 'lost too' }] });
      expectDocumented(res);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(await split.store.statusCounts()).toMatchObject({ pending: 0 });
      expect(await split.redis.keys(`${split.config.REDIS_PREFIX}:idempotency:*`)).toEqual([]);
    } finally {
      await split.close();
      await queueServer.stop();
    }
  }, 20_000);
});

describe('POST /v2/tickets/batch limits', () => {
  it('takes BATCH_MAX_ITEMS items and answers 413 JSON to more, storing nothing', async () => {
    await start({ BATCH_MAX_ITEMS: '3' });
    const items = (n: number) => ({ tickets: Array.from({ length: n }, (_, i) => ({ body: `ticket ${i}` })) });
    const over = await postBatch(items(4));
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ error: 'too many tickets in one batch: 4 (limit 3)' });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
    expect((await postBatch(items(3))).status).toBe(202);
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 3 });
  });

  it('defaults to 100 items', async () => {
    await start();
    expect(gw.config.BATCH_MAX_ITEMS).toBe(100);
    const res = await postBatch({ tickets: Array.from({ length: 101 }, () => ({ body: 'x' })) });
    expect(res.status).toBe(413);
  });
});

describe('POST /v2/tickets/batch with AUTH=on', () => {
  beforeEach(() => start({ AUTH: 'on' }));
  const keyWith = async (...scopes: Scope[]) => (await gw.apiKeys.create(`test-${scopes.join('-')}`, scopes)).key;
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

  it('needs the client scope (403 JSON otherwise) and records the submitter', async () => {
    for (const scope of ['agent', 'admin'] as const) {
      const res = await postBatch({ tickets: [{ body: 'x' }] }, bearer(await keyWith(scope)));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: "this API key lacks the 'client' scope" });
    }
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });

    const [client, other] = [await keyWith('client'), await keyWith('client')];
    const res = await postBatch({ tickets: [{ body: 'mine', idempotency_key: 'same' }] }, bearer(client));
    expect(res.status).toBe(202);
    const ticketId = (createTicketsBatchResponseSchema.parse(res.body).results[0] as { ticket_id: string }).ticket_id;
    expect((await request(gw.app).get(`/v2/tickets/${ticketId}`).set(bearer(client))).status).toBe(200);
    expect((await request(gw.app).get(`/v2/tickets/${ticketId}`).set(bearer(other))).status).toBe(404);
    // Idempotency keys belong to their sender: the other key's 'same' is a new ticket.
    const theirs = createTicketsBatchResponseSchema.parse((await postBatch({ tickets: [{ body: 'theirs', idempotency_key: 'same' }] }, bearer(other))).body).results[0]!;
    expect(theirs).toMatchObject({ status: 'accepted' });
    expect((theirs as { ticket_id: string }).ticket_id).not.toBe(ticketId);
    expect((theirs as { replayed?: boolean }).replayed).toBeUndefined();
  });
});
