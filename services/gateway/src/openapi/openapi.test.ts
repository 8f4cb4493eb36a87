import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { expectDocumented } from '../../../../tests/support/openapi';
import { uniquePrefix } from '../../../../tests/support/test-redis';
import { documentedRoutes, openApiDocument, servedRoutes } from './document';

let gw: TestGateway;
beforeAll(async () => {
  gw = buildGateway(uniquePrefix('openapi'), undefined, { AUTH: 'on' });
  await gw.ready();
});
afterAll(() => gw.close());

describe('OpenAPI document', () => {
  it('documents exactly the routes the app serves', () => {
    const served = servedRoutes(gw.app);
    const documented = documentedRoutes();
    expect({ undocumented: served.filter((r) => !documented.includes(r)) }).toEqual({ undocumented: [] });
    expect({ documentedButNotServed: documented.filter((r) => !served.includes(r)) }).toEqual({ documentedButNotServed: [] });
    expect(served.length).toBeGreaterThan(10);
  });

  it('is OpenAPI 3.1 whose every $ref resolves and every schema compiles', () => {
    const doc = openApiDocument() as unknown as Record<string, unknown>;
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) {
      const target = ref.split('/').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/')], doc);
      expect({ ref, found: target !== undefined }).toEqual({ ref, found: true });
    }
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'doc');
    for (const name of Object.keys((doc.components as { schemas: object }).schemas)) expect(ajv.getSchema(`doc#/components/schemas/${name}`)).toBeTruthy();
  });

  it('gives every secured operation a scope, 401/403/429 and the bearer scheme', () => {
    const doc = openApiDocument();
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, { security?: Record<string, string[]>[]; responses: Record<string, unknown> }>)) {
        const open = ['/health', '/ready', '/openapi.json', '/docs'].includes(path);
        const where = `${method.toUpperCase()} ${path}`;
        if (open) {
          expect({ where, security: op.security }).toEqual({ where, security: [] });
          continue;
        }
        expect({ where, scopes: op.security?.[0]?.apiKey?.length ?? 0 }).toEqual({ where, scopes: expect.any(Number) });
        expect(op.security?.[0]?.apiKey?.length).toBeGreaterThan(0);
        expect({ where, statuses: Object.keys(op.responses) }).toEqual({ where, statuses: expect.arrayContaining(['401', '403', '429']) });
      }
    }
  });

  it('is served at /openapi.json without a key, and Swagger UI at /docs from local assets', async () => {
    const res = await request(gw.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(Object.keys(openApiDocument().paths ?? {}));
    // Corrections must name one of the served model's queues, and the document says which.
    const queue = res.body.paths['/v2/tickets/{id}/feedback'].post.requestBody.content['application/json'].schema.properties.queue;
    expect(queue.enum).toContain('Billing and Payments');
    expectDocumented(res);

    const page = await request(gw.app).get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('/openapi.json');
    expect(page.text).not.toMatch(/https?:\/\//); // nothing from a CDN
    const scripts = [...page.text.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui-standalone-preset.js']);
    for (const src of [...scripts, '/docs/swagger-ui.css']) {
      const asset = await request(gw.app).get(src);
      expect({ src, status: asset.status }).toEqual({ src, status: 200 });
    }
    // The one inline script is allowed by its hash, nothing else inline.
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
  });
});

describe('responses match the document', () => {
  it('for the ticket routes, their errors and the auth errors', async () => {
    const { key } = await gw.apiKeys.create('openapi-test', ['client', 'agent', 'admin']);
    const auth = { Authorization: `Bearer ${key}` };
    const created = await request(gw.app).post('/v2/tickets').set(auth).set('Idempotency-Key', 'doc-1').send({ subject: 'Doc', body: 'Checking the document' });
    expectDocumented(created);
    expectDocumented(await request(gw.app).post('/v2/tickets').set(auth).set('Idempotency-Key', 'doc-1').send({ subject: 'Doc', body: 'Checking the document' }));
    expectDocumented(await request(gw.app).get(`/v2/tickets/${created.body.ticket_id as string}`).set(auth));
    expectDocumented(await request(gw.app).get(`/v2/tickets/${created.body.ticket_id as string}/alerts`).set(auth));
    expectDocumented(await request(gw.app).get('/v2/tickets/00000000-0000-4000-8000-000000000000').set(auth));
    expectDocumented(await request(gw.app).get('/v2/tickets/status').set(auth));
    expectDocumented(await request(gw.app).get('/v2/tickets/next').set(auth));
    expectDocumented(await request(gw.app).post('/v2/tickets').set(auth).send({ body: '' }));
    expectDocumented(await request(gw.app).post('/v2/tickets').set(auth).set('Content-Type', 'text/plain').send('x'));
    expectDocumented(await request(gw.app).post('/v2/tickets').send({ body: 'no key' }));
    const { key: agentOnly } = await gw.apiKeys.create('agent-only', ['agent']);
    expectDocumented(await request(gw.app).post('/v2/tickets').set('Authorization', `Bearer ${agentOnly}`).send({ body: 'x' }));
  });

  it('for /v1, /health, /ready and /metrics', async () => {
    const { key } = await gw.apiKeys.create('openapi-v1', ['client', 'agent', 'admin']);
    const auth = { Authorization: `Bearer ${key}` };
    expectDocumented(await request(gw.app).post('/v1/tickets').set(auth).send({ subject: 'Server down', body: 'Production is down' }));
    expectDocumented(await request(gw.app).get('/v1/tickets/peek').set(auth));
    expectDocumented(await request(gw.app).get('/v1/tickets/status').set(auth));
    expectDocumented(await request(gw.app).get('/v1/tickets/next').set(auth));
    expectDocumented(await request(gw.app).get('/v1/tickets/next').set(auth));
    expectDocumented(await request(gw.app).delete('/v1/tickets').set(auth));
    expectDocumented(await request(gw.app).get('/health'));
    expectDocumented(await request(gw.app).get('/ready'));
    expectDocumented(await request(gw.app).get('/metrics').set(auth));
    expectDocumented(await request(gw.app).get('/metrics').set(auth).set('Accept', 'text/plain'));
  });

  it('for the monitoring routes', async () => {
    const { key } = await gw.apiKeys.create('openapi-admin', ['admin']);
    const auth = { Authorization: `Bearer ${key}` };
    expectDocumented(await request(gw.app).get('/v2/stats?window=30m').set(auth));
    expectDocumented(await request(gw.app).get('/v2/stats?window=8d').set(auth));
    expectDocumented(await request(gw.app).get('/v2/monitoring/drift').set(auth));
    expectDocumented(await request(gw.app).get('/v2/review?limit=5').set(auth));
  });

  it('answers 405 with Allow for a documented path asked with another method', async () => {
    const { key } = await gw.apiKeys.create('openapi-405', ['client']);
    const res = await request(gw.app).put('/v2/tickets/status').set('Authorization', `Bearer ${key}`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toEqual({ error: expect.stringMatching(/method PUT not allowed/) });
    expect((await request(gw.app).delete('/v2/tickets').set('Authorization', `Bearer ${key}`)).headers.allow).toBe('POST');
    expect((await request(gw.app).get('/nowhere').set('Authorization', `Bearer ${key}`)).status).toBe(404);
  });

  it('answers a wrong method before asking for a key, on open and protected paths alike', async () => {
    const health = await request(gw.app).post('/health');
    expect([health.status, health.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect((await request(gw.app).delete('/openapi.json')).status).toBe(405);
    expect((await request(gw.app).put('/v2/tickets/status')).status).toBe(405);
    // the right method still needs the key
    expect((await request(gw.app).get('/v2/tickets/status')).status).toBe(401);
  });

  it('refuses HEAD where a GET takes something (a lease, a /v1 ticket): a HEAD would take it and return nothing', async () => {
    const { key } = await gw.apiKeys.create('openapi-head', ['agent']);
    const auth = { Authorization: `Bearer ${key}` };
    for (const path of ['/v2/tickets/next', '/v1/tickets/next']) {
      const head = await request(gw.app).head(path).set(auth);
      expect([path, head.status, head.headers.allow]).toEqual([path, 405, 'GET']);
      expect((await request(gw.app).options(path).set(auth)).headers.allow).toBe('GET');
    }
    expect((await request(gw.app).head('/v2/tickets/status').set(auth)).status).toBe(200);
  });

  it('answers OPTIONS with the documented methods only (/batch is not read as a ticket id)', async () => {
    const { key } = await gw.apiKeys.create('openapi-options', ['client']);
    const options = (path: string) => request(gw.app).options(path).set('Authorization', `Bearer ${key}`);
    const batch = await options('/v2/tickets/batch');
    expect(batch.status).toBe(204);
    expect(batch.headers.allow).toBe('POST');
    expect((await options('/v2/tickets/status')).headers.allow).toBe('GET, HEAD');
  });

  it('the helper fails for a body that violates the document', () => {
    const fake = { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'r' }, body: { depth: -1 }, req: { method: 'GET', path: '/v1/tickets/status' } };
    expect(() => expectDocumented(fake as never)).toThrow(/violates the document/);
    const undocumentedStatus = { ...fake, status: 418 };
    expect(() => expectDocumented(undocumentedStatus as never)).toThrow(/does not list/);
  });
});
