import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { type V1Ticket, loadFallbackModel, redisKeys, ticketText, urgencyLevel, v1TicketSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { plainRedis, uniquePrefix } from '../../../../tests/support/test-redis';
import { modelDir } from '../../../../tests/support/worker';
import { V1Queue } from '../v1/v1-queue';

const fallback = loadFallbackModel(modelDir());
const gateways: TestGateway[] = [];

async function gateway(prefix = uniquePrefix('v1'), env: Record<string, string> = {}): Promise<TestGateway> {
  const gw = buildGateway(prefix, undefined, { MODEL_DIR: modelDir(), ...env });
  gateways.push(gw);
  await gw.ready();
  return gw;
}
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});

async function post(gw: TestGateway, payload: object): Promise<V1Ticket> {
  const res = await request(gw.app).post('/v1/tickets').send(payload);
  expect(res.status).toBe(201);
  return v1TicketSchema.parse(res.body);
}

const SAMPLES = [
  { subject: 'URGENT: production outage', body: 'All our servers are down since 9:00, customers cannot log in, please help asap!' },
  { body: 'Could you send me the brochure for your premium plan when you have a moment?' },
  { subject: 'Invoice', body: 'I was charged twice for my subscription this month.' },
  { subject: 'Dringend: Systemausfall', body: 'Unser Netzwerk ist komplett ausgefallen, bitte sofort helfen.' },
  { body: 'How do I change the language of the dashboard?' },
  { subject: 'Laptop', body: 'My laptop does not start after the latest update.' },
];

describe('POST /v1/tickets', () => {
  it('classifies in the request with the n-gram model and answers 201 with the seed fields', async () => {
    const gw = await gateway();
    const payload = { subject: '  Refund  ', body: 'Please refund order 1182, the item arrived broken.' };
    const ticket = await post(gw, payload);
    const expected = fallback.predict(ticketText(payload.subject, payload.body));
    expect(ticket).toEqual({
      ticket_id: expect.any(String),
      subject: payload.subject,
      body: payload.body,
      category: expected.category,
      urgency_level: urgencyLevel(expected.urgency),
      urgency_score: expected.urgency,
      queued_at: expect.any(String),
    });
    expect((await post(gw, { body: 'no subject here' })).subject).toBeNull();
  });

  it('validates exactly like POST /v2/tickets', async () => {
    const gw = await gateway();
    const cases: [object | string, string | undefined][] = [
      [{ subject: 'no body' }, undefined],
      [{ body: '   ' }, undefined],
      [{ body: 'x', priority: 'high' }, undefined],
      [{ body: 'x'.repeat(20_001) }, undefined],
      ['{"body": ', 'application/json'],
      ['body=x', 'application/x-www-form-urlencoded'],
    ];
    for (const [payload, type] of cases) {
      const send = (path: string) => {
        const req = request(gw.app).post(path);
        if (type) req.set('Content-Type', type);
        return req.send(payload);
      };
      const [v1, v2] = await Promise.all([send('/v1/tickets'), send('/v2/tickets')]);
      expect(v1.status).toBeGreaterThanOrEqual(400);
      expect({ status: v1.status, body: v1.body }).toEqual({ status: v2.status, body: v2.body });
    }
    expect((await request(gw.app).get('/v1/tickets/status')).body).toEqual({ depth: 0 });
  });

  it('answers 503 when the model directory has no n-gram model', async () => {
    const gw = await gateway(uniquePrefix('v1'), { MODEL_DIR: '/nonexistent/model' });
    const res = await request(gw.app).post('/v1/tickets').send({ body: 'hello' });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/the \/v1 model is unavailable: .*ngram\.json/);
  });

  it('loads the n-gram model on first use: a bundle broken after start-up gives 503, and /v1 recovers once it is whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'triage-v1-'));
    for (const file of ['config.json', 'ngram.json']) copyFileSync(join(modelDir(), file), join(dir, file));
    try {
      const gw = await gateway(uniquePrefix('v1'), { MODEL_DIR: dir });
      writeFileSync(join(dir, 'ngram.json'), '{"truncated": ');
      const broken = await request(gw.app).post('/v1/tickets').send({ body: 'hello' });
      expect(broken.status).toBe(503);
      expect(broken.body.error).toMatch(/^the \/v1 model is unavailable: /);
      expect(broken.body.error).not.toContain(dir);
      // The rest of the gateway keeps the bundle it checked at start-up.
      expect((await request(gw.app).get('/v2/queues')).body.model_version).toBe(fallback.modelVersion);

      copyFileSync(join(modelDir(), 'ngram.json'), join(dir, 'ngram.json'));
      const ticket = await post(gw, SAMPLES[2]!);
      expect(ticket.category).toBe(fallback.predict(ticketText(SAMPLES[2]!.subject, SAMPLES[2]!.body)).category);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the /v1 queue', () => {
  it('pops by urgency level, then arrival; peek shows the same ticket without popping', async () => {
    const gw = await gateway();
    const posted: V1Ticket[] = [];
    for (const s of [...SAMPLES, ...SAMPLES]) posted.push(await post(gw, s));
    const expected = posted
      .map((t, arrival) => ({ t, arrival }))
      .sort((a, b) => a.t.urgency_level - b.t.urgency_level || a.arrival - b.arrival)
      .map(({ t }) => t);

    const popped: V1Ticket[] = [];
    for (;;) {
      const peek = await request(gw.app).get('/v1/tickets/peek');
      const next = await request(gw.app).get('/v1/tickets/next');
      if (next.status === 404) {
        expect(peek.status).toBe(404);
        break;
      }
      expect(peek.body).toEqual(next.body);
      popped.push(next.body as V1Ticket);
    }
    expect(popped).toEqual(expected);
  });

  it('orders tickets of one millisecond by arrival and never hands one ticket out twice', async () => {
    const gw = await gateway();
    const queue = new V1Queue(gw.redis, gw.keys);
    const at = new Date().toISOString();
    const ticket = (n: number, level: number): V1Ticket => ({
      ticket_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      subject: null,
      body: `ticket ${n}`,
      category: 'General Inquiry',
      urgency_level: level,
      urgency_score: 0.5,
      queued_at: at,
    });
    // Ids in descending order, so a tie on score would pop them the wrong way round.
    const levels = [5, 1, 3, 1, 5, 2, 1, 4, 3, 2];
    for (const [i, level] of levels.entries()) await queue.push(ticket(99 - i, level));

    const results = await Promise.all(levels.map(() => request(gw.app).get('/v1/tickets/next')));
    expect(results.map((r) => r.status)).toEqual(levels.map(() => 200));
    const ids = results.map((r) => r.body.ticket_id as string);
    expect(new Set(ids).size).toBe(levels.length);

    for (const [i, level] of levels.entries()) await queue.push(ticket(99 - i, level));
    const order: string[] = [];
    for (let t = await queue.pop(); t; t = await queue.pop()) order.push(t.body);
    const expected = levels
      .map((level, i) => ({ level, i }))
      .sort((a, b) => a.level - b.level || a.i - b.i)
      .map(({ i }) => `ticket ${99 - i}`);
    expect(order).toEqual(expected);
  });

  it('reports depth, drains, and answers 404 JSON when empty', async () => {
    const gw = await gateway();
    for (const s of SAMPLES.slice(0, 3)) await post(gw, s);
    expect((await request(gw.app).get('/v1/tickets/status')).body).toEqual({ depth: 3 });
    await request(gw.app).get('/v1/tickets/peek').expect(200);
    expect((await request(gw.app).get('/v1/tickets/status')).body).toEqual({ depth: 3 });

    const drained = await request(gw.app).delete('/v1/tickets');
    expect(drained.status).toBe(200);
    expect(drained.body).toEqual({ drained: 3 });
    expect((await request(gw.app).get('/v1/tickets/status')).body).toEqual({ depth: 0 });
    for (const path of ['/v1/tickets/next', '/v1/tickets/peek']) {
      const res = await request(gw.app).get(path);
      expect(res.status).toBe(404);
      expect(res.type).toBe('application/json');
      expect(res.body).toEqual({ error: 'the v1 queue is empty' });
    }
    expect((await request(gw.app).delete('/v1/tickets')).body).toEqual({ drained: 0 });
    const redis = plainRedis();
    try {
      const keys = redisKeys(gw.config.REDIS_PREFIX);
      expect(await redis.exists(keys.v1Queue, keys.v1Tickets)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('survives a gateway restart: a new app on the same Redis serves the queued tickets', async () => {
    const prefix = uniquePrefix('v1');
    const first = await gateway(prefix);
    const a = await post(first, SAMPLES[0]!);
    const b = await post(first, SAMPLES[1]!);
    await first.close();

    const second = await gateway(prefix);
    expect((await request(second.app).get('/v1/tickets/status')).body).toEqual({ depth: 2 });
    const popped = [(await request(second.app).get('/v1/tickets/next')).body, (await request(second.app).get('/v1/tickets/next')).body];
    expect(popped.map((t: V1Ticket) => t.ticket_id).sort()).toEqual([a.ticket_id, b.ticket_id].sort());
  });
});

describe('urgencyLevel', () => {
  it.each([
    [1, 1], [0.8, 1], [0.79, 2], [0.6, 2], [0.5, 3], [0.4, 3], [0.39, 4], [0.2, 4], [0.19, 5], [0, 5],
  ])('maps score %p to level %p', (score, level) => {
    expect(urgencyLevel(score)).toBe(level);
  });
});
