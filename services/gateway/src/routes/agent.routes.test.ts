import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { feedbackEntrySchema, ticketResponseSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { uniquePrefix } from '../../../../tests/support/test-redis';
import { processTicket } from '../../../../tests/support/tickets';

let gw: TestGateway;
const gateways: TestGateway[] = [];

async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const g = buildGateway(uniquePrefix('agent'), undefined, env);
  gateways.push(g);
  await g.ready();
  return g;
}

beforeEach(async () => {
  gw = await gateway();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

/** A processed ticket accepted `ageMs` ago, with the given urgency → its id. */
async function waiting(urgency: number, g = gw, ageMs = 0, body = `u=${urgency}`): Promise<string> {
  const ticketId = randomUUID();
  await g.store.create({ ticket_id: ticketId, subject: 'Subject', body, accepted_at: new Date(Date.now() - ageMs).toISOString() });
  await processTicket(g.store, ticketId, urgency);
  return ticketId;
}

/** Calls as one agent (null: no X-Agent-Id); `g` defaults to the current test's gateway. */
const as = (agent: string | null, g?: TestGateway) => {
  const app = () => (g ?? gw).app;
  const withAgent = (r: request.Test) => (agent === null ? r : r.set('X-Agent-Id', agent));
  return {
    next: () => withAgent(request(app()).get('/v2/tickets/next')),
    ack: (id: string, body?: object) => withAgent(body ? request(app()).post(`/v2/tickets/${id}/ack`).send(body) : request(app()).post(`/v2/tickets/${id}/ack`)),
    release: (id: string) => withAgent(request(app()).post(`/v2/tickets/${id}/release`)),
    extend: (id: string) => withAgent(request(app()).post(`/v2/tickets/${id}/extend`)),
    feedback: (id: string, body: unknown) => withAgent(request(app()).post(`/v2/tickets/${id}/feedback`).send(body as object)),
    get: (id: string) => request(app()).get(`/v2/tickets/${id}`),
  };
};
const alice = as('alice');
const bob = as('bob');

describe('GET /v2/tickets/next leases', () => {
  it('hands each ticket to exactly one of several racing agents, under that agent\'s lease', async () => {
    const ids = [];
    for (let i = 0; i < 30; i += 1) ids.push(await waiting(i / 30));
    const agents = ['alice', 'bob', 'carol'];
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => as(agents[i % 3]!).next().then((r) => ({ agent: agents[i % 3]!, r }))));

    const won = responses.filter(({ r }) => r.status === 200);
    expect(won).toHaveLength(30);
    expect(new Set(won.map(({ r }) => r.body.ticket_id))).toEqual(new Set(ids));
    for (const { agent, r } of won) expect(r.body).toMatchObject({ status: 'leased', lease: { agent_id: agent } });
    expect(responses.filter(({ r }) => r.status === 404).every(({ r }) => typeof r.body.error === 'string')).toBe(true);
    expect(await gw.store.statusCounts()).toMatchObject({ processed: 0, leased: 30, waiting_for_agent: 0 });
  });

  it('answers with the record plus lease {agent_id, leased_at, expires_at} LEASE_TTL_MS ahead', async () => {
    const g = await gateway({ LEASE_TTL_MS: '60000' });
    const id = await waiting(0.7, g);
    const before = Date.now();
    const res = await as('alice', g).next();
    expect(res.status).toBe(200);
    const ticket = ticketResponseSchema.parse(res.body);
    expect(ticket.ticket_id).toBe(id);
    const leasedAt = Date.parse(ticket.lease!.leased_at);
    expect(leasedAt).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(ticket.lease!.expires_at) - leasedAt).toBe(60_000);
    expect((await as('alice', g).get(id)).body).toMatchObject({ status: 'leased', lease: ticket.lease });
  });

  it('rejects a malformed X-Agent-Id with 400 and leases nothing', async () => {
    await waiting(0.5);
    const res = await as('no spaces please').next();
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^invalid X-Agent-Id header/);
    expect(await gw.store.statusCounts()).toMatchObject({ leased: 0, waiting_for_agent: 1 });
  });
});

describe('ack, release, extend', () => {
  it('are refused with 409 for anyone but the holder, and 404 for unknown tickets', async () => {
    const id = await waiting(0.5);
    await alice.next();
    for (const call of [bob.ack, bob.release, bob.extend, as(null).ack]) {
      const res = await call(id);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatch(/leased by another agent \(alice\)/);
      expect(res.body.code).toBe('leased_by_another_agent');
    }
    for (const unknown of [randomUUID(), 'not-a-uuid']) {
      for (const call of [alice.ack, alice.release, alice.extend]) expect((await call(unknown)).status).toBe(404);
    }
    expect((await alice.get(id)).body).toMatchObject({ status: 'leased', lease: { agent_id: 'alice' } });
  });

  it('release puts the ticket back at its place in the queue', async () => {
    const high = await waiting(0.9);
    const low = await waiting(0.2);
    expect((await alice.next()).body.ticket_id).toBe(high);
    const released = await alice.release(high);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: 'processed', lease: null });
    expect((await alice.release(high)).status).toBe(409);
    expect((await bob.next()).body.ticket_id).toBe(high);
    expect((await bob.next()).body.ticket_id).toBe(low);
  });

  it('extend renews the lease from now', async () => {
    const g = await gateway({ LEASE_TTL_MS: '5000' });
    const id = await waiting(0.5, g);
    const first = (await as('alice', g).next()).body.lease.expires_at as string;
    await new Promise((r) => setTimeout(r, 30));
    const res = await as('alice', g).extend(id);
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.lease.expires_at)).toBeGreaterThan(Date.parse(first));
    expect(await g.redis.zscore(g.keys.leases, id)).toBe(String(Date.parse(res.body.lease.expires_at)));
  });

  it('ack marks the ticket done; acking again is idempotent for the holder and 409 for others', async () => {
    const id = await waiting(0.5);
    await alice.next();
    const acked = await alice.ack(id);
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'done', lease: null, done: { agent_id: 'alice' } });
    const again = await alice.ack(id);
    expect(again.status).toBe(200);
    expect(again.body.done).toEqual(acked.body.done);
    expect((await bob.ack(id)).body).toMatchObject({ code: 'already_acknowledged' });
    expect((await alice.release(id)).status).toBe(409);
    expect(await gw.store.statusCounts()).toMatchObject({ leased: 0, done: 1, waiting_for_agent: 0 });
    expect(await gw.redis.zcard(gw.keys.leases)).toBe(0);
  });

  it('ack is refused for a ticket nobody leased', async () => {
    const id = await waiting(0.5);
    const res = await alice.ack(id);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/not leased \(status processed\)/);
    expect(res.body.code).toBe('not_leased');
  });
});

describe('lease expiry', () => {
  it('returns the ticket to the queue by itself, and its former holder can no longer ack', async () => {
    const g = await gateway({ LEASE_TTL_MS: '1000' });
    const id = await waiting(0.5, g);
    expect((await as('alice', g).next()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    // The sweep (run by a worker every MAINTENANCE_INTERVAL_MS) is what returns it without any request.
    expect(await g.store.reclaimExpiredLeases()).toBe(1);
    expect((await as('alice', g).get(id)).body).toMatchObject({ status: 'processed', lease: null });
    expect(await g.store.statusCounts()).toMatchObject({ leased: 0, processed: 1, waiting_for_agent: 1 });
    expect((await as('alice', g).ack(id)).status).toBe(409);
    const retaken = await as('bob', g).next();
    expect(retaken.body).toMatchObject({ ticket_id: id, lease: { agent_id: 'bob' } });
  });

  it('is enforced by the holder actions and /next even before any sweep', async () => {
    const g = await gateway({ LEASE_TTL_MS: '1000' });
    const a = await waiting(0.5, g);
    const b = await waiting(0.4, g);
    await as('alice', g).next();
    await as('alice', g).next();
    await new Promise((r) => setTimeout(r, 1_100));
    const late = await as('alice', g).ack(a);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatch(/lease of alice .* expired/);
    expect(late.body.code).toBe('lease_expired');
    // b's lease expired too: /next reclaims it before choosing.
    const next = await as('bob', g).next();
    expect(next.body.ticket_id).toBe(a);
    expect((await as('bob', g).next()).body.ticket_id).toBe(b);
    expect(await g.store.statusCounts()).toMatchObject({ leased: 2, processed: 0 });
  });
});

describe('urgency aging', () => {
  it('lets a long-waiting low ticket overtake a fresh medium one', async () => {
    const fresh = await waiting(0.5);
    const old = await waiting(0.15, gw, 10 * 3_600_000);
    const res = await alice.next();
    expect(res.body.ticket_id).toBe(old);
    // 0.15 + 0.05/h × 10 h
    expect(res.body.effective_priority).toBeCloseTo(0.65, 3);
    expect(res.body.urgency_score).toBe(0.15);
    expect((await alice.get(fresh)).body.effective_priority).toBeCloseTo(0.5, 3);
  });

  it('starves the low ticket when aging is off (the control)', async () => {
    const g = await gateway({ AGING_PER_HOUR: '0' });
    const fresh = await waiting(0.5, g);
    await waiting(0.15, g, 10 * 3_600_000);
    expect((await as('alice', g).next()).body.ticket_id).toBe(fresh);
  });
});

describe('SLA due times', () => {
  it.each([
    [0.9, 1],
    [0.5, 8],
    [0.1, 24],
  ])('urgency %d is due %d h after acceptance by default', async (urgency, hours) => {
    const id = await waiting(urgency);
    const ticket = ticketResponseSchema.parse((await alice.get(id)).body);
    expect(Date.parse(ticket.sla!.due_at) - Date.parse(ticket.accepted_at)).toBe(hours * 3_600_000);
    expect(ticket.sla!.state).toBe('on_track');
  });

  it('follows SLA_POLICY and shows breached, then met/missed once taken', async () => {
    const g = await gateway({ SLA_POLICY: '[{"min_urgency":0,"within":"1h"}]', SLA_WARN_BEFORE_MS: '600000' });
    const late = await waiting(0.3, g, 2 * 3_600_000);
    const risky = await waiting(0.3, g, 55 * 60_000);
    expect((await as('a', g).get(late)).body.sla.state).toBe('breached');
    expect((await as('a', g).get(risky)).body.sla.state).toBe('at_risk');
    await as('a', g).next();
    await as('a', g).next();
    expect((await as('a', g).get(late)).body.sla.state).toBe('missed');
    expect((await as('a', g).get(risky)).body.sla.state).toBe('met');
  });

  it('refuses a malformed SLA_POLICY at start-up', () => {
    expect(() => buildGateway(uniquePrefix('bad'), undefined, { SLA_POLICY: '[{"min_urgency":0.5,"within":"1h"}]' })).toThrow(/min_urgency 0/);
  });
});

describe('corrections', () => {
  async function feedback(): Promise<{ raw: Record<string, string>; id: string }[]> {
    const entries = await gw.redis.xrange(gw.keys.feedback, '-', '+');
    return entries.map(([id, flat]) => {
      const raw: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) raw[flat[i]!] = flat[i + 1]!;
      return { id, raw };
    });
  }

  it('POST /feedback records the correction with the prediction, model, agent and a text snapshot', async () => {
    const id = await waiting(0.4);
    const res = await bob.feedback(id, { queue: 'Technical Support', priority: 'high', note: 'customer is down' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ticket_id: id, correction: { queue: 'Technical Support', priority: 'high', urgency: null, note: 'customer is down', agent_id: 'bob' } });
    const [entry] = await feedback();
    expect(entry!.id).toBe(res.body.feedback_id);
    expect(feedbackEntrySchema.parse(entry!.raw)).toEqual({
      ticket_id: id,
      agent_id: 'bob',
      at: res.body.correction.at,
      queue: 'Technical Support',
      priority: 'high',
      note: 'customer is down',
      predicted_queue: 'Billing and Payments',
      predicted_urgency: 0.4,
      model_version: 'sha256:test',
      subject: 'Subject',
      body: 'u=0.4',
    });
    expect((await bob.get(id)).body.correction).toEqual(res.body.correction);
  });

  it('keeps every correction in the stream; the ticket shows the latest', async () => {
    const id = await waiting(0.4);
    await alice.feedback(id, { queue: 'IT Support' });
    const second = await bob.feedback(id, { urgency: 0.95 });
    expect((await feedback()).map((e) => e.raw.agent_id)).toEqual(['alice', 'bob']);
    expect((await bob.get(id)).body.correction).toEqual(second.body.correction);
    expect(second.body.correction).toMatchObject({ queue: null, urgency: 0.95 });
  });

  it('ack may carry the correction; a refused ack writes none', async () => {
    const id = await waiting(0.4);
    await alice.next();
    expect((await bob.ack(id, { queue: 'IT Support' })).status).toBe(409);
    expect(await feedback()).toEqual([]);
    const acked = await alice.ack(id, { queue: 'IT Support', priority: 'low' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'done', correction: { queue: 'IT Support', priority: 'low', agent_id: 'alice' } });
    expect((await feedback()).map((e) => e.raw)).toEqual([expect.objectContaining({ ticket_id: id, queue: 'IT Support', priority: 'low', agent_id: 'alice' })]);
  });

  it.each([
    ['no field at all', {}, ''],
    ['an unknown queue', { queue: 'Astrology' }, 'queue'],
    ['an unknown priority', { priority: 'urgent' }, 'priority'],
    ['an urgency above 1', { urgency: 1.5 }, 'urgency'],
    ['an unknown field', { category: 'IT Support' }, 'category'],
    ['a blank note', { note: '   ' }, 'note'],
  ])('rejects %s with 400 and writes nothing', async (_name, body, path) => {
    const id = await waiting(0.4);
    const res = await alice.feedback(id, body);
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(await feedback()).toEqual([]);
    expect((await alice.get(id)).body.correction).toBeNull();
  });

  it('names the allowed queues in the 400', async () => {
    const id = await waiting(0.4);
    const res = await alice.feedback(id, { queue: 'Astrology' });
    expect(res.body.details[0].message).toMatch(/must be one of: .*Billing and Payments.*Technical Support/);
    const ack = await alice.ack(id, { priority: 'urgent' });
    expect(ack.status).toBe(400);
  });

  it('answers 404 for unknown tickets and 409 for tickets without a result', async () => {
    expect((await alice.feedback(randomUUID(), { note: 'x' })).status).toBe(404);
    const pending = randomUUID();
    await gw.store.create({ ticket_id: pending, body: 'b', accepted_at: new Date().toISOString() });
    const res = await alice.feedback(pending, { note: 'x' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/no triage result/);
  });
});
