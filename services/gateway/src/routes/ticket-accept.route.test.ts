import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { expectDocumented } from '../../../../tests/support/openapi';
import { uniquePrefix } from '../../../../tests/support/test-redis';

// POST /v2/tickets is served outside Express (ticket-accept.route.ts): these hold it to what the
// Express stack gives every other route.
const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function gateway(env: Record<string, string> = {}) {
  const gw = buildGateway(uniquePrefix('accept'), undefined, env);
  gateways.push(gw);
  await gw.ready();
  return gw;
}

/** helmet's headers, as an Express route answers them. */
const SECURITY_HEADERS = ['content-security-policy', 'cross-origin-opener-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'referrer-policy'];

describe('POST /v2/tickets outside Express', () => {
  it('answers with the security headers, request id and JSON framing of the Express routes, success or error', async () => {
    const gw = await gateway();
    const viaExpress = await request(gw.app).get('/v2/tickets/status');
    const accepted = await request(gw.app).post('/v2/tickets').set('X-Request-Id', 'caller-id-1').send({ body: 'Printer on fire' });
    const rejected = await request(gw.app).post('/v2/tickets').send({ subject: 'no body' });
    expect(accepted.status).toBe(202);
    expect(rejected.status).toBe(400);
    expect(accepted.headers['x-request-id']).toBe('caller-id-1');
    expect(rejected.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    for (const res of [accepted, rejected]) {
      expectDocumented(res);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      for (const name of SECURITY_HEADERS) expect({ name, value: res.headers[name] }).toEqual({ name, value: viaExpress.headers[name] });
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    expect(rejected.body).toEqual({ error: 'validation failed', details: [{ path: 'body', message: expect.any(String) }] });
  });

  it.each(['/v2/tickets/', '/V2/Tickets', '/v2/tickets?source=form'])('serves %s as Express routing would', async (path) => {
    const gw = await gateway();
    const res = await request(gw.app).post(path).send({ body: 'Cannot log in' });
    expect(res.status).toBe(202);
    expect(await gw.store.get(res.body.ticket_id)).toMatchObject({ status: 'pending', body: 'Cannot log in' });
  });

  it('leaves other paths and methods to Express', async () => {
    const gw = await gateway();
    expect((await request(gw.app).post('/v2/ticketsx').send({ body: 'x' })).status).toBe(404);
    expect((await request(gw.app).put('/v2/tickets').send({ body: 'x' })).status).toBe(405);
    expect((await request(gw.app).post('/v2/tickets/batch').send({ tickets: [{ body: 'x' }] })).status).toBe(202);
  });

  it('counts its requests in the request metrics under the route pattern', async () => {
    const gw = await gateway();
    await request(gw.app).post('/v2/tickets').send({ body: 'one' }).expect(202);
    await request(gw.app).post('/v2/tickets/').send({ body: 'two' }).expect(202);
    await request(gw.app).post('/v2/tickets').send({}).expect(400);
    const metrics = (await request(gw.app).get('/metrics').set('Accept', 'text/plain')).text.split('\n');
    const sample = (prefix: string) => metrics.find((l) => l.startsWith(prefix));
    expect(sample('triage_http_requests_total{method="POST",route="/v2/tickets",status="202"}')).toMatch(/ 2$/);
    expect(sample('triage_http_requests_total{method="POST",route="/v2/tickets",status="400"}')).toMatch(/ 1$/);
    expect(sample('triage_http_request_duration_seconds_count{method="POST",route="/v2/tickets",status="202"}')).toMatch(/ 2$/);
  });
});

describe('rate limit windows', () => {
  it('opens a new budget once the window has passed', async () => {
    const gw = await gateway({ AUTH: 'on', RATE_LIMIT_CLIENT: '1', RATE_LIMIT_WINDOW_MS: '400' });
    const { key } = await gw.apiKeys.create('client', ['client']);
    const post = () => request(gw.app).post('/v2/tickets').set('Authorization', `Bearer ${key}`).send({ body: 'Invoice wrong' });
    const first = await post();
    expect(first.status).toBe(202);
    expect(first.headers.ratelimit).toBe('"client";r=0;t=1');
    expect(first.headers['ratelimit-policy']).toBe('"client";q=1;w=1');
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await post()).status).toBe(202);
  });
});
