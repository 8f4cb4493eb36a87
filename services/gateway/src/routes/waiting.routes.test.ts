import request from 'supertest';
import { queuesResponseSchema, waitingResponseSchema } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { uniquePrefix } from '../../../../tests/support/test-redis';
import { expectDocumented } from '../../../../tests/support/openapi';
import { processTicket } from '../../../../tests/support/tickets';

let gw: TestGateway;

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('gw-waiting'), undefined, { AUTH: 'on' });
  await gw.ready();
});
afterEach(() => gw.close());

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

async function submitProcessed(urgencies: number[]): Promise<string[]> {
  const client = (await gw.apiKeys.create('intake', ['client'])).key;
  const ids: string[] = [];
  for (const [i, urgency] of urgencies.entries()) {
    const res = await request(gw.app).post('/v2/tickets').set(bearer(client)).send({ subject: `ticket ${i}`, body: `body of ticket ${i}` });
    expect(res.status).toBe(202);
    await processTicket(gw.store, res.body.ticket_id, urgency);
    ids.push(res.body.ticket_id);
  }
  return ids;
}

describe('GET /v2/tickets/waiting', () => {
  it('lists the waiting tickets in exactly the order /next leases them, without taking any', async () => {
    await submitProcessed([0.2, 0.9, 0.5, 0.7, 0.1]);
    const agent = (await gw.apiKeys.create('agent', ['agent'])).key;
    const res = await request(gw.app).get('/v2/tickets/waiting?limit=3').set(bearer(agent));
    expect(res.status).toBe(200);
    expectDocumented(res);
    const body = waitingResponseSchema.parse(res.body);
    expect(body.total).toBe(5);
    expect(body.tickets.map((t) => t.urgency_score)).toEqual([0.9, 0.7, 0.5]);
    expect(body.tickets.every((t) => t.status === 'processed')).toBe(true);

    const all = waitingResponseSchema.parse((await request(gw.app).get('/v2/tickets/waiting').set(bearer(agent))).body).tickets.map((t) => t.ticket_id);
    const served: string[] = [];
    for (let i = 0; i < 5; i++) served.push((await request(gw.app).get('/v2/tickets/next').set(bearer(agent))).body.ticket_id);
    expect(served).toEqual(all);
    expect(waitingResponseSchema.parse((await request(gw.app).get('/v2/tickets/waiting').set(bearer(agent))).body)).toEqual({ total: 0, tickets: [] });
  });

  it('needs the agent scope and a sane limit', async () => {
    const client = (await gw.apiKeys.create('client', ['client'])).key;
    const agent = (await gw.apiKeys.create('agent', ['agent'])).key;
    expect((await request(gw.app).get('/v2/tickets/waiting')).status).toBe(401);
    expect((await request(gw.app).get('/v2/tickets/waiting').set(bearer(client))).status).toBe(403);
    for (const bad of ['0', '201', 'x', '1.5']) {
      const res = await request(gw.app).get(`/v2/tickets/waiting?limit=${bad}`).set(bearer(agent));
      expect(res.status).toBe(400);
      expectDocumented(res);
      expect(res.body.details[0].path).toBe('limit');
    }
    expect((await request(gw.app).get('/v2/tickets/waiting?other=1').set(bearer(agent))).status).toBe(400);
  });
});

describe('GET /v2/queues', () => {
  it("lists the served model's queues for agents and admins", async () => {
    const agent = (await gw.apiKeys.create('agent', ['agent'])).key;
    const res = await request(gw.app).get('/v2/queues').set(bearer(agent));
    expect(res.status).toBe(200);
    expectDocumented(res);
    const body = queuesResponseSchema.parse(res.body);
    expect(body.queues).toContain('Technical Support');
    expect(body.queues).toEqual([...body.queues].sort());
    expect(body.model_version).toMatch(/^sha256:/);
    const client = (await gw.apiKeys.create('client', ['client'])).key;
    expect((await request(gw.app).get('/v2/queues').set(bearer(client))).status).toBe(403);
  });
});

describe('GET /console', () => {
  it('serves the built console with a same-origin content security policy', async () => {
    const res = await request(gw.app).get('/console/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<div id="app">');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await request(gw.app).get('/console')).status).toBe(301);
    const missing = await request(gw.app).get('/console/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBeDefined();
  });

  it('says how to build it when it is not built', async () => {
    const unbuilt = buildGateway(uniquePrefix('gw-console'), undefined, { CONSOLE_DIR: '/nonexistent/console' });
    try {
      const res = await request(unbuilt.app).get('/console/');
      expect(res.status).toBe(503);
      expect(res.body.error).toMatch(/npm run build/);
    } finally {
      await unbuilt.close();
    }
  });
});
