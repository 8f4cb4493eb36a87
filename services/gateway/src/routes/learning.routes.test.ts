import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ApiKeyStore, StatsStore } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { uniquePrefix } from '../../../../tests/support/test-redis';
import { modelDir } from '../../../../tests/support/worker';

let gw: TestGateway;
let stats: StatsStore;
beforeEach(async () => {
  gw = buildGateway(uniquePrefix('learn'), undefined, { MODEL_DIR: modelDir(), DRIFT_MIN_SAMPLES: '20' });
  await gw.ready();
  stats = new StatsStore(gw.redis, gw.keys);
});
afterEach(() => gw.close());

const processed = (over: Partial<Parameters<StatsStore['recordProcessed']>[1]> = {}) => ({
  at: Date.now(),
  category: 'Billing and Payments',
  action: 'AUTO_ROUTE',
  model_used: 'encoder',
  model_version: 'sha256:aaa',
  urgency: 0.42,
  tokens: 100,
  latency_ms: 100,
  ...over,
});

async function addTicket(category: string, confidence: number, top3: { category: string; probability: number }[]) {
  const id = randomUUID();
  await gw.store.create({ ticket_id: id, body: `ticket ${id}`, accepted_at: new Date().toISOString() });
  await gw.redis.hset(gw.keys.ticket(id), {
    status: 'processed',
    category,
    confidence: String(confidence),
    top3: JSON.stringify(top3),
    model_version: 'sha256:aaa',
    processed_at: new Date().toISOString(),
  });
  await stats.recordProcessed(id, processed({ category }), top3[0]!.probability - top3[1]!.probability);
  return id;
}

const correction = (fields: Record<string, string>) =>
  gw.redis.xadd(gw.keys.feedback, '*', ...Object.entries({
    ticket_id: randomUUID(),
    agent_id: 'alice',
    at: new Date().toISOString(),
    predicted_queue: 'Billing and Payments',
    predicted_urgency: '0.4',
    model_version: 'sha256:aaa',
    subject: 'Invoice',
    body: 'Where is my invoice?',
    ...fields,
  }).flat());

describe('GET /v2/stats', () => {
  it('aggregates the window: queues, actions, models, automation, latency, agent events and live accuracy', async () => {
    for (let i = 0; i < 8; i++) await stats.recordProcessed(randomUUID(), processed({ latency_ms: 100 + i }), 0.5);
    await stats.recordProcessed(randomUUID(), processed({ category: 'IT Support', action: 'HUMAN_REVIEW', model_used: 'fallback', tokens: undefined, latency_ms: 2000 }), 0.1);
    await stats.recordProcessed(randomUUID(), processed({ action: 'ESCALATE', model_version: 'sha256:bbb', latency_ms: 5000 }), 0.1);
    // Outside a 1-hour window: counted by 24h only.
    await stats.recordProcessed(randomUUID(), processed({ at: Date.now() - 3 * 3_600_000 }), 0.5);
    await stats.recordEvent('lease');
    await stats.recordEvent('lease');
    await stats.recordEvent('ack');
    // One breach, however many paths notice it (the sweep's breach alert, a lease after due); none for a deleted ticket.
    const late = randomUUID();
    await gw.store.create({ ticket_id: late, body: 'still waiting', accepted_at: new Date().toISOString() });
    expect(await stats.recordSlaBreach(late, Date.now() - 60_000)).toBe(true);
    expect(await stats.recordSlaBreach(late, Date.now() - 60_000)).toBe(false);
    expect(await stats.recordSlaBreach(randomUUID(), Date.now() - 60_000)).toBe(false);
    await stats.recordVerdict({ at: Date.now(), predicted_queue: 'IT Support', model_version: 'sha256:aaa', kept: true });
    await correction({ queue: 'Customer Service' });
    await correction({ priority: 'high' });
    await correction({ queue: 'Billing and Payments' });
    await correction({ queue: 'IT Support', model_version: 'sha256:bbb' });

    const res = await request(gw.app).get('/v2/stats?window=1h').expect(200);
    expect(res.body.resolution).toBe('minute');
    expect(res.body.tickets).toEqual({
      processed: 10,
      by_queue: { 'Billing and Payments': 9, 'IT Support': 1 },
      by_action: { AUTO_ROUTE: 8, HUMAN_REVIEW: 1, ESCALATE: 1 },
      by_model_used: { encoder: 9, fallback: 1 },
      by_model_version: { 'sha256:aaa': 9, 'sha256:bbb': 1 },
    });
    expect(res.body.automation_rate).toBeCloseTo(0.8, 10);
    expect(res.body.latency_ms.p50).toBeGreaterThanOrEqual(100);
    expect(res.body.latency_ms.p50).toBeLessThan(120);
    expect(res.body.latency_ms.p95).toBeGreaterThanOrEqual(5000);
    expect(res.body.latency_ms.p95).toBeLessThan(5500);
    expect(res.body.agents).toEqual({ leases: 2, acks: 1, releases: 0, sla_breaches: 1, corrections: 4 });
    // 5 verdicts: the ack and two corrections keep the queue, two move it.
    expect(res.body.live_accuracy).toEqual({
      overall: 3 / 5,
      n: 5,
      by_queue: { 'IT Support': { accuracy: 1, n: 1 }, 'Billing and Payments': { accuracy: 0.5, n: 4 } },
      by_model_version: { 'sha256:aaa': { accuracy: 3 / 4, n: 4 }, 'sha256:bbb': { accuracy: 0, n: 1 } },
    });

    const day = await request(gw.app).get('/v2/stats?window=24h').expect(200);
    expect(day.body.resolution).toBe('hour');
    expect(day.body.tickets.processed).toBe(11);
  });

  it('answers an empty window with zeros and nulls, and a bad window with 400', async () => {
    const res = await request(gw.app).get('/v2/stats').expect(200);
    expect(res.body.window).toBe('24h');
    expect(res.body.tickets.processed).toBe(0);
    expect(res.body.automation_rate).toBeNull();
    expect(res.body.live_accuracy).toEqual({ overall: null, n: 0, by_queue: {}, by_model_version: {} });
    for (const q of ['window=8d', 'window=abc', 'window=0h', 'other=1']) {
      const bad = await request(gw.app).get(`/v2/stats?${q}`).expect(400);
      expect(bad.body.error).toBe('invalid query');
    }
  });

  it('exports the same figures as Prometheus gauges', async () => {
    for (let i = 0; i < 4; i++) await stats.recordProcessed(randomUUID(), processed(), 0.5);
    await stats.recordProcessed(randomUUID(), processed({ action: 'HUMAN_REVIEW' }), 0.5);
    await correction({ queue: 'Customer Service' });
    const text = (await request(gw.app).get('/metrics').set('Accept', 'text/plain').expect(200)).text;
    expect(text).toMatch(/triage_tickets_processed_24h\{queue="Billing and Payments"\} 5/);
    expect(text).toMatch(/triage_automation_rate_24h 0\.8/);
    expect(text).toMatch(/triage_live_accuracy_24h\{scope="overall",key="all"\} 0/);
    expect(text).toMatch(/triage_agent_events_24h\{event="corrections"\} 1/);
  });
});

describe('GET /v2/monitoring/drift', () => {
  it('reports PSI per signal with its band against the active model reference', async () => {
    for (let i = 0; i < 30; i++) await stats.recordProcessed(randomUUID(), processed({ urgency: 0.95, tokens: 400 }), 0.5);
    const res = await request(gw.app).get('/v2/monitoring/drift?window=1h').expect(200);
    expect(res.body.min_samples).toBe(20);
    const bySignal = Object.fromEntries((res.body.signals as { signal: string; psi: number; band: string; n: number }[]).map((s) => [s.signal, s]));
    expect(Object.keys(bySignal).sort()).toEqual(['input_tokens', 'predicted_queue', 'urgency']);
    for (const s of Object.values(bySignal)) {
      expect(s.n).toBe(30);
      expect(s.psi).toBeGreaterThanOrEqual(0.25);
      expect(s.band).toBe('act');
    }
    const text = (await request(gw.app).get('/metrics').set('Accept', 'text/plain').expect(200)).text;
    expect(text).toMatch(/triage_drift_psi\{signal="urgency"\} \d/);
  });

  it('gives no PSI below the minimum sample', async () => {
    await stats.recordProcessed(randomUUID(), processed(), 0.5);
    const res = await request(gw.app).get('/v2/monitoring/drift').expect(200);
    for (const s of res.body.signals) expect(s).toMatchObject({ psi: null, band: null, n: 1 });
  });
});

describe('GET /v2/review', () => {
  it('lists unlabelled tickets, the smallest top-2 margin first', async () => {
    const sure = await addTicket('Billing and Payments', 0.9, [{ category: 'Billing and Payments', probability: 0.9 }, { category: 'IT Support', probability: 0.05 }]);
    const unsure = await addTicket('IT Support', 0.4, [{ category: 'IT Support', probability: 0.4 }, { category: 'Technical Support', probability: 0.38 }]);
    const middle = await addTicket('IT Support', 0.5, [{ category: 'IT Support', probability: 0.5 }, { category: 'Technical Support', probability: 0.3 }]);
    const acked = await addTicket('IT Support', 0.3, [{ category: 'IT Support', probability: 0.3 }, { category: 'Technical Support', probability: 0.29 }]);
    await gw.redis.hset(gw.keys.ticket(acked), 'status', 'done');
    const res = await request(gw.app).get('/v2/review?limit=2').expect(200);
    expect(res.body.tickets.map((t: { ticket_id: string }) => t.ticket_id)).toEqual([unsure, middle]);
    expect(res.body.tickets[0].margin).toBeCloseTo(0.02, 6);
    const all = await request(gw.app).get('/v2/review').expect(200);
    expect(all.body.tickets.map((t: { ticket_id: string }) => t.ticket_id)).toEqual([unsure, middle, sure]);
    await request(gw.app).get('/v2/review?limit=0').expect(400);
    await request(gw.app).get('/v2/review?limit=x').expect(400);
  });
});

describe('with API keys', () => {
  it('needs the admin scope for stats and drift, agent or admin for the review list', async () => {
    const secured = buildGateway(uniquePrefix('learn-auth'), undefined, { MODEL_DIR: modelDir(), AUTH: 'on' });
    try {
      await secured.ready();
      const keys = new ApiKeyStore(secured.redis, secured.keys);
      const agent = (await keys.create('agent', ['agent'])).key;
      const admin = (await keys.create('admin', ['admin'])).key;
      const client = (await keys.create('client', ['client'])).key;
      for (const path of ['/v2/stats', '/v2/monitoring/drift', '/v2/review']) {
        await request(secured.app).get(path).expect(401);
        await request(secured.app).get(path).set('Authorization', `Bearer ${client}`).expect(403);
        await request(secured.app).get(path).set('Authorization', `Bearer ${agent}`).expect(path === '/v2/review' ? 200 : 403);
        await request(secured.app).get(path).set('Authorization', `Bearer ${admin}`).expect(200);
      }
    } finally {
      await secured.close();
    }
  });
});
