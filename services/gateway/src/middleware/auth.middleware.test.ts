import request from 'supertest';
import { type Scope, SCOPES } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { uniquePrefix } from '../../../../tests/support/test-redis';

let gw: TestGateway;
beforeEach(async () => {
  gw = buildGateway(uniquePrefix('auth'), undefined, { AUTH: 'on' });
  await gw.ready();
});
afterEach(() => gw.close());

const keyWith = async (...scopes: Scope[]) => (await gw.apiKeys.create(`test-${scopes.join('-')}`, scopes)).key;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const submit = (key: string, body: object = { body: 'printer on fire' }, headers: Record<string, string> = {}) =>
  request(gw.app).post('/v2/tickets').set({ ...bearer(key), ...headers }).send(body);

describe('AUTH=on', () => {
  it('leaves /health and /ready open', async () => {
    expect((await request(gw.app).get('/health')).status).toBe(200);
    expect([200, 503]).toContain((await request(gw.app).get('/ready')).status);
  });

  it.each([
    ['no Authorization header', {}, /missing API key/],
    ['a non-Bearer scheme', { Authorization: 'Basic dXNlcjpwYXNz' }, /malformed Authorization/],
    ['an unknown key', { Authorization: `Bearer trk_0123456789abcdef_${'A'.repeat(43)}` }, /unknown or revoked/],
    ['a garbage token', { Authorization: 'Bearer hello' }, /unknown or revoked/],
  ])('answers 401 JSON to %s, and changes nothing', async (_name, headers, message) => {
    const res = await request(gw.app).post('/v2/tickets').set(headers).send({ body: 'x' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).toEqual({ error: expect.stringMatching(message) });
    expect(await gw.store.statusCounts()).toMatchObject({ pending: 0 });
  });

  it('rejects a key whose secret is wrong even when its id exists', async () => {
    const key = await keyWith('client');
    const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect((await submit(forged)).status).toBe(401);
  });

  it('answers 403 JSON when the key lacks the scope', async () => {
    const agent = await keyWith('agent');
    const res = await submit(agent);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: "this API key lacks the 'client' scope" });
    const client = await keyWith('client');
    expect((await request(gw.app).get('/v2/tickets/next').set(bearer(client))).status).toBe(403);
    expect((await request(gw.app).get('/metrics').set(bearer(client))).status).toBe(403);
    expect((await request(gw.app).delete('/v1/tickets').set(bearer(agent))).status).toBe(403);
  });

  it('serves each scope its routes', async () => {
    const [client, agent, admin] = await Promise.all(SCOPES.map((s) => keyWith(s)));
    expect((await submit(client!)).status).toBe(202);
    expect((await request(gw.app).get('/v2/tickets/next').set(bearer(agent!))).status).toBe(404); // empty queue, but allowed
    expect((await request(gw.app).get('/v2/tickets/status').set(bearer(agent!))).status).toBe(200);
    expect((await request(gw.app).get('/metrics').set(bearer(admin!)).set('Accept', 'text/plain')).status).toBe(200);
    expect((await request(gw.app).delete('/v1/tickets').set(bearer(admin!))).status).toBe(200);
  });

  it('a client reads only the tickets it submitted; an agent reads any', async () => {
    const [alice, bob, agent] = [await keyWith('client'), await keyWith('client'), await keyWith('agent')];
    const id = (await submit(alice)).body.ticket_id as string;
    expect((await request(gw.app).get(`/v2/tickets/${id}`).set(bearer(alice))).status).toBe(200);
    const other = await request(gw.app).get(`/v2/tickets/${id}`).set(bearer(bob));
    expect(other.status).toBe(404); // no hint that the ticket exists
    expect(other.body).toEqual({ error: `ticket ${id} not found` });
    expect((await request(gw.app).get(`/v2/tickets/${id}`).set(bearer(agent))).body.ticket_id).toBe(id);
  });

  it('scopes an Idempotency-Key to its sender: two clients, same key → two tickets, no cross-client replay', async () => {
    const [alice, bob] = [await keyWith('client'), await keyWith('client')];
    const a1 = await submit(alice, { body: 'alice ticket' }, { 'Idempotency-Key': 'order-1' });
    const b1 = await submit(bob, { body: 'bob ticket' }, { 'Idempotency-Key': 'order-1' });
    const a2 = await submit(alice, { body: 'alice ticket' }, { 'Idempotency-Key': 'order-1' });
    expect([a1.status, b1.status, a2.status]).toEqual([202, 202, 202]);
    expect(b1.body.ticket_id).not.toBe(a1.body.ticket_id);
    expect(b1.headers['idempotent-replayed']).toBeUndefined();
    expect(a2.body.ticket_id).toBe(a1.body.ticket_id);
    expect(a2.headers['idempotent-replayed']).toBe('true');
    expect((await gw.store.get(b1.body.ticket_id))?.body).toBe('bob ticket');
  });

  it('stops accepting a key once it is revoked, and records when it was last used', async () => {
    const { key, info } = await gw.apiKeys.create('soon-gone', ['client']);
    expect((await submit(key)).status).toBe(202);
    expect((await gw.apiKeys.get(info.id))?.last_used_at).not.toBeNull();
    await gw.apiKeys.revoke(info.id);
    expect((await submit(key)).status).toBe(401);
    expect((await gw.apiKeys.list()).map((k) => [k.id, k.revoked_at !== null])).toEqual([[info.id, true]]);
  });

  it('stores only a hash of the key', async () => {
    const { key, info } = await gw.apiKeys.create('hashed', ['agent']);
    const stored = await gw.redis.hgetall(gw.keys.apiKey(info.id));
    const secret = key.slice('trk_0123456789abcdef_'.length);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored.secret_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('AUTH=off', () => {
  it('lets everything through and names the agent from X-Agent-Id', async () => {
    const open = buildGateway(uniquePrefix('auth-off'));
    await open.ready();
    try {
      expect((await request(open.app).post('/v2/tickets').set('X-Agent-Id', 'ann').send({ body: 'x' })).status).toBe(202);
      expect((await request(open.app).get('/v2/tickets/status')).status).toBe(200);
      const bad = await request(open.app).get('/v2/tickets/status').set('X-Agent-Id', 'has spaces');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/X-Agent-Id/);
    } finally {
      await open.close();
    }
  });
});
