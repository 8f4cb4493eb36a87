import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { uniquePrefix } from '../../../../tests/support/test-redis';

const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function gateway(prefix: string, env: Record<string, string>) {
  const gw = buildGateway(prefix, undefined, { AUTH: 'on', ...env });
  gateways.push(gw);
  await gw.ready();
  return gw;
}

describe('rate limits per API key and scope', () => {
  it('answers 429 with Retry-After and RateLimit headers past the limit, counted across gateway replicas', async () => {
    const prefix = uniquePrefix('rl');
    const env = { RATE_LIMIT_AGENT: '3', RATE_LIMIT_WINDOW_MS: '60000' };
    const [a, b] = [await gateway(prefix, env), await gateway(prefix, env)];
    const { key } = await a.apiKeys.create('agent', ['agent']);
    const get = (gw: TestGateway) => request(gw.app).get('/v2/tickets/status').set('Authorization', `Bearer ${key}`);

    const first = await get(a);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toMatch(/q=3/);
    expect(first.headers.ratelimit).toMatch(/r=2/);
    expect((await get(b)).status).toBe(200);
    expect((await get(a)).status).toBe(200);
    const limited = await get(b);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers.ratelimit).toMatch(/r=0/);
    expect(limited.body).toEqual({ error: expect.stringMatching(/rate limit exceeded: 3 requests per 60 s for the 'agent' scope/) });

    // Another key, and the same key's other scope, have their own budgets.
    const { key: other } = await a.apiKeys.create('agent-2', ['agent']);
    expect((await request(a.app).get('/v2/tickets/status').set('Authorization', `Bearer ${other}`)).status).toBe(200);
  });

  it('counts scopes separately and does not limit a scope whose limit is 0', async () => {
    const gw = await gateway(uniquePrefix('rl'), { RATE_LIMIT_CLIENT: '1', RATE_LIMIT_ADMIN: '0' });
    const { key } = await gw.apiKeys.create('both', ['client', 'admin']);
    const auth = { Authorization: `Bearer ${key}` };
    expect((await request(gw.app).post('/v2/tickets').set(auth).send({ body: 'a' })).status).toBe(202);
    expect((await request(gw.app).post('/v2/tickets').set(auth).send({ body: 'b' })).status).toBe(429);
    for (let i = 0; i < 5; i += 1) {
      const res = await request(gw.app).delete('/v1/tickets').set(auth);
      expect(res.status).toBe(200);
      expect(res.headers.ratelimit).toBeUndefined();
    }
  });
});
