import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { type RedisServerHandle, startRedisServer } from '../../../tests/support/redis-server';
import { eventually, uniquePrefix } from '../../../tests/support/test-redis';

// A private redis-server, because this file kills it.
let server: RedisServerHandle;
let gw: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  gw = buildGateway(uniquePrefix('outage'), server.url);
  await gw.ready();
});
afterAll(async () => {
  await gw.close();
  await server.stop();
});

describe('when Redis goes away', () => {
  it('answers 503 with Retry-After instead of hanging, keeps /health up, and recovers', async () => {
    expect((await request(gw.app).post('/v2/tickets').send({ body: 'before' })).status).toBe(202);

    await server.stop();
    await eventually('the gateway\'s Redis connection dropped', async () => (gw.redis.status === 'ready' ? undefined : true));

    const post = await request(gw.app).post('/v2/tickets').send({ body: 'during outage' });
    expect(post.status).toBe(503);
    expect(post.headers['retry-after']).toBe('5');
    expect(post.body.error).toMatch(/unavailable/);
    for (const path of ['/v2/tickets/status', '/v2/tickets/next', '/v2/tickets/00000000-0000-4000-8000-000000000000', '/ready']) {
      const res = await request(gw.app).get(path);
      expect({ path, status: res.status, retryAfter: res.headers['retry-after'] }).toEqual({ path, status: 503, retryAfter: '5' });
    }
    expect((await request(gw.app).get('/health')).status).toBe(200);
    // Requests that are wrong anyway still learn why.
    expect((await request(gw.app).post('/v2/tickets').send({ subject: 'no body' })).status).toBe(400);

    // Same port, fresh (empty) Redis: the producer connection reconnects on its own.
    server = await startRedisServer({ port: server.port });
    await gw.ready();
    expect((await request(gw.app).post('/v2/tickets').send({ body: 'after' })).status).toBe(202);
  }, 20_000);

  it('answers 503 when Redis accepts connections but stops answering', async () => {
    await gw.ready();
    server.process.kill('SIGSTOP');
    try {
      const res = await request(gw.app).post('/v2/tickets').send({ body: 'frozen redis' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      server.process.kill('SIGCONT');
    }
  }, 20_000);

  it('leaves no pending ticket behind when only the enqueue fails', async () => {
    const queueServer = await startRedisServer();
    const split = buildGateway(uniquePrefix('split'), undefined, {}, queueServer.url);
    try {
      await split.ready();
      await split.ticketsQueue.waitUntilReady();
      await queueServer.stop();

      const res = await request(split.app).post('/v2/tickets').set('Idempotency-Key', 'split-1').send({ body: 'lost enqueue' });
      expect(res.status).toBe(503);
      expect(await split.store.statusCounts()).toMatchObject({ pending: 0 });
      // The rate limiter's counter is the only other key: it counts requests, not tickets.
      const left = (await split.redis.keys(`${split.config.REDIS_PREFIX}:*`)).filter((k) => !k.startsWith(split.keys.rateLimit));
      expect(left).toEqual([`${split.config.REDIS_PREFIX}:status-counts`]);
    } finally {
      await split.close();
      await queueServer.stop();
    }
  }, 20_000);
});
