import request from 'supertest';
import { explanationSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { startTestWorker } from '../../../../tests/support/worker';

jest.setTimeout(120_000);

/** The real path: gateway → `explain` job → a worker with the shipped model → the gateway's answer. */
describe('GET /v2/tickets/:id/explain', () => {
  let gw: TestGateway;
  let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
  let agentKey: string;
  let clientKey: string;
  const ticket = { subject: 'Invoice charged twice', body: 'My credit card was charged twice for invoice 4411 this month. Please refund the duplicate payment.' };

  beforeAll(async () => {
    const prefix = uniquePrefix('gw-explain');
    gw = buildGateway(prefix, undefined, { AUTH: 'on', EXPLAIN_TIMEOUT_MS: '1500' });
    await gw.ready();
    agentKey = (await gw.apiKeys.create('agent', ['agent'])).key;
    clientKey = (await gw.apiKeys.create('client', ['client'])).key;
    worker = await startTestWorker(prefix);
  });
  afterAll(async () => {
    await worker?.close();
    await gw.close();
  });

  const submit = async (body: object) => {
    const res = await request(gw.app).post('/v2/tickets').set('Authorization', `Bearer ${clientKey}`).send(body);
    expect(res.status).toBe(202);
    return res.body.ticket_id as string;
  };
  const processed = (id: string) =>
    eventually(`ticket ${id} processed`, async () => {
      const t = await gw.store.get(id);
      return t?.status === 'processed' ? t : undefined;
    });
  const explain = (id: string, key = agentKey) => request(gw.app).get(`/v2/tickets/${id}/explain`).set('Authorization', `Bearer ${key}`);

  it('explains the stored prediction with spans that index the ticket text', async () => {
    const id = await submit(ticket);
    const stored = await processed(id);
    const res = await explain(id);
    expect(res.status).toBe(200);
    const e = explanationSchema.parse(res.body);
    expect(e.ticket_id).toBe(id);
    expect(e.model_used).toBe('encoder');
    expect(e.model_version).toBe(stored.model_version);
    expect(e.queue.category).toBe(stored.category);
    expect(e.queue.probability).toBeCloseTo(stored.confidence!, 2);
    expect(e.urgency.score).toBeCloseTo(stored.urgency_score!, 2);
    expect(e.queue.evidence.length).toBeGreaterThan(3);
    for (const span of [...e.queue.evidence, ...e.urgency.evidence]) expect(ticket[span.field].slice(span.start, span.end)).toBe(span.text);
    const top = e.queue.evidence.filter((s) => s.weight > 0).slice(0, 6).map((s) => s.text.toLowerCase());
    expect(top.some((w) => ['charged', 'invoice', 'refund', 'payment', 'credit', 'card', 'twice', 'duplicate'].includes(w))).toBe(true);
  });

  it('needs the agent scope, and answers 404 for unknown or malformed ids', async () => {
    const id = await submit(ticket);
    await processed(id);
    expect((await explain(id, clientKey)).status).toBe(403);
    expect((await request(gw.app).get(`/v2/tickets/${id}/explain`)).status).toBe(401);
    const unknown = await explain('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/not found/);
    expect((await explain('not-a-uuid')).status).toBe(404);
  });

  it('answers 409 for a ticket that is not triaged yet, and 503 with Retry-After when no worker answers in time', async () => {
    await worker!.close();
    worker = undefined;
    const id = await submit({ body: 'The export button does nothing since the last update.' });
    const pending = await explain(id);
    expect(pending.status).toBe(409);
    expect(pending.body.error).toMatch(/not been triaged/);

    // a triaged ticket with no worker left to explain it
    await gw.store.transition(id, ['pending'], 'processing');
    await gw.redis.hset(gw.keys.ticket(id), { status: 'processed', category: 'Technical Support', confidence: '0.7', urgency_score: '0.4' });
    const res = await explain(id);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body.error).toMatch(/explanation unavailable/);
    // the abandoned job is not left for a worker to compute later
    expect(await gw.redis.exists(`${gw.keys.bullPrefix}:explain:${id}`)).toBe(0);
  });
});
