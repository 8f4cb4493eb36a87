import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createTicketResponseSchema, ticketResponseSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { expectDocumented } from '../../../tests/support/openapi';
import { uniquePrefix } from '../../../tests/support/test-redis';
import { processTicket as storeResult } from '../../../tests/support/tickets';

let gw: TestGateway;

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('gw'));
  await gw.ready();
});
afterEach(() => gw.close());

/** Every answer is also checked against the OpenAPI document (status, headers, body schema). */
const post = async (body: unknown, headers: Record<string, string> = {}) => {
  const res = await request(gw.app).post('/v2/tickets').set(headers).send(body as object);
  expectDocumented(res);
  return res;
};

const processTicket = (ticketId: string, urgency: number) => storeResult(gw.store, ticketId, urgency);

describe('POST /v2/tickets', () => {
  it('accepts a ticket with 202 + Location, stores it pending and enqueues one job under the ticket id', async () => {
    const res = await post({ subject: 'Invoice wrong', body: 'I was charged twice', customer_id: 'c-1', channel: 'email' });
    expect(res.status).toBe(202);
    const body = createTicketResponseSchema.parse(res.body);
    expect(res.headers.location).toBe(`/v2/tickets/${body.ticket_id}`);
    expect(res.headers['x-request-id']).toBeTruthy();

    const stored = await gw.store.get(body.ticket_id);
    expect(stored).toMatchObject({ status: 'pending', subject: 'Invoice wrong', body: 'I was charged twice', customer_id: 'c-1', accepted_at: body.accepted_at });
    const job = await gw.ticketsQueue.getJob(body.ticket_id);
    expect(job?.name).toBe('triage');
    expect(job?.data).toMatchObject({ ticket_id: body.ticket_id, subject: 'Invoice wrong', body: 'I was charged twice' });
    expect(await gw.store.statusCounts()).toEqual({ pending: 1, processing: 0, processed: 0, leased: 0, done: 0, failed: 0, waiting_for_agent: 0 });
  });

  it.each([{ body: 'no subject at all' }, { subject: null, body: 'null subject' }, { subject: '', body: 'empty subject' }])(
    'accepts a ticket without a usable subject (%j)',
    async (payload) => {
      const res = await post(payload);
      expect(res.status).toBe(202);
      const job = await gw.ticketsQueue.getJob(res.body.ticket_id);
      expect(job?.data.body).toBe(payload.body);
    },
  );

  it.each([
    ['missing body', { subject: 'x' }, 'body'],
    ['empty body', { body: '' }, 'body'],
    ['blank body', { body: '   \n ' }, 'body'],
    ['body over 20,000 chars', { body: 'a'.repeat(20_001) }, 'body'],
    ['subject over 500 chars', { subject: 's'.repeat(501), body: 'b' }, 'subject'],
    ['non-string body', { body: 42 }, 'body'],
    ['unknown field', { body: 'b', priority: 'high' }, 'priority'],
    ['metadata not an object', { body: 'b', metadata: 'x' }, 'metadata'],
  ])('rejects %s with 400 and a detail for the field', async (_name, payload, path) => {
    const res = await post(payload);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation failed');
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
  });

  it('accepts exactly 20,000 chars of body and 500 of subject', async () => {
    expect((await post({ subject: 's'.repeat(500), body: 'a'.repeat(20_000) })).status).toBe(202);
  });

  it('rejects a JSON array body with 400', async () => {
    expect((await post([{ body: 'x' }])).status).toBe(400);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await request(gw.app).post('/v2/tickets').set('Content-Type', 'application/json').send('{"body": "x",');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed JSON body' });
  });

  it('rejects a body over 1 MB with 413', async () => {
    const res = await post({ body: 'x', metadata: { blob: 'y'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/too large/);
  });

  it.each([
    ['text/plain', 'body=hello'],
    ['application/x-www-form-urlencoded', 'body=hello'],
  ])('rejects Content-Type %s with 415', async (type, payload) => {
    const res = await request(gw.app).post('/v2/tickets').set('Content-Type', type).send(payload);
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
  });

  it('rejects a request without a body or content type with 415', async () => {
    expect((await request(gw.app).post('/v2/tickets')).status).toBe(415);
  });
});

describe('Idempotency-Key', () => {
  it('returns the same ticket for the same key and never creates a second job', async () => {
    const first = await post({ body: 'printer on fire' }, { 'Idempotency-Key': 'k-123' });
    const second = await post({ body: 'printer on fire' }, { 'Idempotency-Key': 'k-123' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.ticket_id).toBe(first.body.ticket_id);
    expect(second.body.accepted_at).toBe(first.body.accepted_at);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await gw.ticketsQueue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 1 });
  });

  it('gives concurrent requests with one key one ticket', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => post({ body: 'dup' }, { 'Idempotency-Key': 'same' })));
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(responses.map((r) => r.body.ticket_id)).size).toBe(1);
    expect(await gw.ticketsQueue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('keeps different keys apart', async () => {
    const a = await post({ body: 'x' }, { 'Idempotency-Key': 'a' });
    const b = await post({ body: 'x' }, { 'Idempotency-Key': 'b' });
    expect(a.body.ticket_id).not.toBe(b.body.ticket_id);
  });

  it('re-enqueues a replayed ticket whose job went missing', async () => {
    const first = await post({ body: 'x' }, { 'Idempotency-Key': 'heal' });
    await (await gw.ticketsQueue.getJob(first.body.ticket_id))!.remove();
    await post({ body: 'x' }, { 'Idempotency-Key': 'heal' });
    expect(await gw.ticketsQueue.getJob(first.body.ticket_id)).toBeDefined();
  });

  it('rejects a malformed key with 400', async () => {
    const res = await post({ body: 'x' }, { 'Idempotency-Key': 'has space' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid Idempotency-Key header');
  });
});

describe('GET /v2/tickets/:id', () => {
  it('returns the pending record with null results', async () => {
    const { body: created } = await post({ subject: 'S', body: 'B', metadata: { plan: 'pro' } });
    const res = await request(gw.app).get(`/v2/tickets/${created.ticket_id}`);
    expect(res.status).toBe(200);
    expect(ticketResponseSchema.parse(res.body)).toMatchObject({
      ticket_id: created.ticket_id,
      status: 'pending',
      subject: 'S',
      body: 'B',
      metadata: { plan: 'pro' },
      category: null,
      urgency_score: null,
      processed_at: null,
      timings: null,
    });
  });

  it('returns the result once processed', async () => {
    const { body: created } = await post({ body: 'B' });
    await processTicket(created.ticket_id, 0.42);
    const res = await request(gw.app).get(`/v2/tickets/${created.ticket_id}`);
    expect(res.body).toMatchObject({ status: 'processed', category: 'Billing and Payments', urgency_score: 0.42, action: 'AUTO_ROUTE', timings: { queue_ms: 1, inference_ms: 2 } });
  });

  it.each([randomUUID(), 'not-a-uuid'])('answers 404 JSON for unknown id %s', async (id) => {
    const res = await request(gw.app).get(`/v2/tickets/${id}`);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/not found/);
  });
});

describe('GET /v2/tickets/next', () => {
  it('answers 404 when nothing is waiting', async () => {
    const res = await request(gw.app).get('/v2/tickets/next');
    expect(res.status).toBe(404);
    expect(res.body.error).toBeTruthy();
  });

  it('leases processed tickets by descending urgency, each once, to anonymous without X-Agent-Id (the seed client)', async () => {
    const ids: Record<number, string> = {};
    for (const urgency of [0.2, 0.9, 0.5]) {
      const { body } = await post({ body: `u=${urgency}` });
      await processTicket(body.ticket_id, urgency);
      ids[urgency] = body.ticket_id;
    }
    const popped = [];
    for (let i = 0; i < 3; i += 1) popped.push((await request(gw.app).get('/v2/tickets/next')).body);
    expect(popped.map((t) => t.ticket_id)).toEqual([ids[0.9], ids[0.5], ids[0.2]]);
    expect(popped[0]).toMatchObject({ status: 'leased', urgency_score: 0.9, body: 'u=0.9', lease: { agent_id: 'anonymous' } });
    expect((await request(gw.app).get('/v2/tickets/next')).status).toBe(404);
  });

  it('never hands one ticket to two concurrent agents', async () => {
    const created = [];
    for (let i = 0; i < 30; i += 1) created.push((await post({ body: `t${i}` })).body.ticket_id as string);
    for (const [i, id] of created.entries()) await processTicket(id, i / 30);

    const responses = await Promise.all(Array.from({ length: 50 }, () => request(gw.app).get('/v2/tickets/next')));
    const got = responses.filter((r) => r.status === 200).map((r) => r.body.ticket_id as string);
    expect(got).toHaveLength(30);
    expect(new Set(got).size).toBe(30);
    expect(new Set(got)).toEqual(new Set(created));
    expect(responses.filter((r) => r.status === 404)).toHaveLength(20);
  });
});

describe('GET /v2/tickets/status', () => {
  it('counts tickets per status and those waiting for an agent', async () => {
    const ids = [];
    for (let i = 0; i < 4; i += 1) ids.push((await post({ body: `s${i}` })).body.ticket_id as string);
    await processTicket(ids[0]!, 0.1);
    await processTicket(ids[1]!, 0.2);
    await gw.store.transition(ids[2]!, ['pending'], 'failed', { error: 'boom' });
    const taken = await request(gw.app).get('/v2/tickets/next');
    expect((await request(gw.app).get('/v2/tickets/status')).body).toEqual({ pending: 1, processing: 0, processed: 1, leased: 1, done: 0, failed: 1, waiting_for_agent: 1 });
    await request(gw.app).post(`/v2/tickets/${taken.body.ticket_id}/ack`);
    expect((await request(gw.app).get('/v2/tickets/status')).body).toEqual({ pending: 1, processing: 0, processed: 1, leased: 0, done: 1, failed: 1, waiting_for_agent: 1 });
  });
});

describe('health and readiness', () => {
  it('/health is live (200, status ok)', async () => {
    const res = await request(gw.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('/ready is 503 until a worker heartbeat exists, then reports the model version', async () => {
    const notReady = await request(gw.app).get('/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.headers['retry-after']).toBeTruthy();
    expect(notReady.body).toMatchObject({ status: 'not_ready', redis: 'ok', workers: 0 });

    const now = new Date().toISOString();
    await gw.registry.beat({ worker_id: 'w1', model_version: 'sha256:abc', pid: 1, host: 'h', started_at: now, beat_at: now }, 10_000);
    const ready = await request(gw.app).get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      redis: 'ok',
      workers: 1,
      model_versions: ['sha256:abc'],
      encoder_breakers: [{ worker_id: 'w1', state: 'closed' }],
    });
  });

  it('/ready forgets a worker whose heartbeat expired', async () => {
    const now = new Date().toISOString();
    await gw.registry.beat({ worker_id: 'w2', model_version: 'v', pid: 1, host: 'h', started_at: now, beat_at: now }, 10_000);
    await gw.redis.del(gw.keys.heartbeat('w2'));
    expect((await request(gw.app).get('/ready')).status).toBe(503);
    expect(await gw.redis.smembers(gw.keys.workers)).toEqual([]);
  });

  it('answers unknown routes with 404 JSON', async () => {
    const res = await request(gw.app).get('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/no route/);
  });
});

describe('metadata limits', () => {
  const nested = (levels: number) => {
    let m: unknown = 'leaf';
    for (let i = 0; i < levels; i += 1) m = { k: m };
    return m as Record<string, unknown>;
  };

  it('accepts metadata 5 levels deep and 16 KB', async () => {
    expect((await post({ body: 'b', metadata: nested(5) })).status).toBe(202);
    const exactly16k = { pad: 'x'.repeat(16 * 1024 - '{"pad":""}'.length) };
    expect((await post({ body: 'b', metadata: exactly16k })).status).toBe(202);
  });

  it.each([
    ['6 levels deep', nested(6), /nested at most 5 levels/],
    ['4,100 levels deep (was a stack overflow)', nested(4100), /nested at most 5 levels/],
    ['over 16 KB', { pad: 'x'.repeat(16 * 1024) }, /at most 16 KB/],
  ])('rejects metadata %s with 400 and stores nothing', async (_name, metadata, message) => {
    const res = await request(gw.app).post('/v2/tickets').set('Content-Type', 'application/json').send(JSON.stringify({ body: 'b', metadata }));
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ path: expect.stringMatching(/^metadata/), message: expect.stringMatching(message) })]);
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
  });
});
