import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { loadFallbackModel } from '@triage/shared';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { type RedisServerHandle, startRedisServer } from '../../../../tests/support/redis-server';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { modelDir } from '../../../../tests/support/worker';
import { modelMetricsSchema } from '../metrics/model-metrics';

interface Averages {
  precision: number;
  recall: number;
  f1: number;
}
interface Classification {
  accuracy: number;
  macro_f1: number;
  weighted_f1: number;
  weighted_avg?: Averages;
  per_class: Record<string, Averages & { support: number }>;
}
interface MetricsFile {
  comparison: Record<'ngram' | 'served', Classification>;
  urgency: Record<'ngram' | 'served', { rmse: number; mae: number }>;
  served: { ece: number };
}
const metricsFile = JSON.parse(readFileSync(join(modelDir(), 'metrics.json'), 'utf8')) as MetricsFile;

/** The file's weighted averages, or (older trainers) the same computed from its per-class rows. */
function weightedAvg(c: Classification): Averages {
  if (c.weighted_avg) return c.weighted_avg;
  const rows = Object.values(c.per_class);
  const n = rows.reduce((acc, r) => acc + r.support, 0);
  const avg = (k: keyof Averages) => rows.reduce((acc, r) => acc + r[k] * r.support, 0) / n;
  return { precision: avg('precision'), recall: avg('recall'), f1: avg('f1') };
}
const modelVersion = loadFallbackModel(modelDir()).modelVersion;
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const gateways: TestGateway[] = [];
async function gateway(redisUrl?: string): Promise<TestGateway> {
  const gw = buildGateway(uniquePrefix('sys'), redisUrl, { MODEL_DIR: modelDir() });
  gateways.push(gw);
  await gw.ready();
  return gw;
}
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});

const beat = (gw: TestGateway, workerId: string, state: 'closed' | 'open' | 'half_open') => {
  const now = new Date().toISOString();
  return gw.registry.beat(
    {
      worker_id: workerId,
      model_version: modelVersion,
      pid: 1,
      host: 'h',
      started_at: now,
      beat_at: now,
      breaker: { state, since: now, consecutive_failures: state === 'closed' ? 0 : 3, reason: state === 'closed' ? null : 'slow' },
    },
    10_000,
  );
};

describe('GET /health (seed fields)', () => {
  it('reports the fallback model, its accuracy from metrics.json, broker, counts and v1 depth', async () => {
    const gw = await gateway();
    await request(gw.app).post('/v1/tickets').send({ body: 'Server is down' }).expect(201);
    await request(gw.app).post('/v2/tickets').send({ body: 'Printer jammed' }).expect(202);
    await beat(gw, 'w-ok', 'closed');
    await beat(gw, 'w-fallback', 'open');

    const res = await request(gw.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      uptime_s: expect.any(Number),
      m1: 'ready',
      m1_model_version: modelVersion,
      m1_accuracy: metricsFile.comparison.ngram.accuracy,
      m2_broker: { status: 'ok', workers: 2, encoder_breakers: { closed: 1, open: 1, half_open: 0 } },
      redis: { status: 'ok', pending: 1, processed: 0 },
      m1_queue: 1,
    });
  });

  it('still answers, in bounded time, when Redis is gone or frozen', async () => {
    const server: RedisServerHandle = await startRedisServer();
    try {
      const gw = await gateway(server.url);
      // Frozen: connected but silent, so only the command timeout ends the Redis calls.
      server.process.kill('SIGSTOP');
      const frozen = await request(gw.app).get('/health');
      server.process.kill('SIGCONT');
      const unreachable = {
        m2_broker: { status: 'unreachable', workers: 0, encoder_breakers: null },
        redis: { status: 'unreachable', pending: null, processed: null },
        m1_queue: null,
      };
      expect(frozen.status).toBe(200);
      expect(frozen.body).toMatchObject({ status: 'ok', m1: 'ready', ...unreachable });

      await server.stop();
      await eventually('the gateway\'s Redis connection dropped', async () => (gw.redis.status === 'ready' ? undefined : true));
      const down = await request(gw.app).get('/health');
      expect(down.status).toBe(200);
      expect(down.body).toMatchObject({ status: 'ok', m1: 'ready', m1_accuracy: metricsFile.comparison.ngram.accuracy, ...unreachable });
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('GET /ready', () => {
  it("lists each worker's encoder breaker and stays ready while workers serve the fallback", async () => {
    const gw = await gateway();
    await beat(gw, 'w1', 'open');
    const res = await request(gw.app).get('/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      workers: 1,
      encoder_breakers: [{ worker_id: 'w1', state: 'open', consecutive_failures: 3, reason: 'slow', since: expect.any(String) }],
    });
  });
});

describe('GET /metrics', () => {
  it('answers model metrics as JSON by default (m1 = n-gram fallback, m2 = encoder), read from metrics.json', async () => {
    const gw = await gateway();
    for (const accept of [undefined, '*/*', 'application/json']) {
      const req = request(gw.app).get('/metrics');
      if (accept) req.set('Accept', accept);
      const res = await req;
      expect(res.status).toBe(200);
      expect(res.type).toBe('application/json');
      const body = modelMetricsSchema.parse(res.body);
      const { ngram, served } = metricsFile.comparison;
      const [m1Avg, m2Avg] = [weightedAvg(ngram), weightedAvg(served)];
      expect(body.m1).toEqual({
        model: 'ngram',
        accuracy: ngram.accuracy,
        macro_f1: ngram.macro_f1,
        'weighted avg': { precision: m1Avg.precision, recall: m1Avg.recall, 'f1-score': expect.closeTo(m1Avg.f1, 12) },
        rmse: metricsFile.urgency.ngram.rmse,
        mae: metricsFile.urgency.ngram.mae,
      });
      expect(body.m2).toEqual({
        model: 'encoder',
        accuracy: served.accuracy,
        macro_f1: served.macro_f1,
        'weighted avg': { precision: m2Avg.precision, recall: m2Avg.recall, 'f1-score': expect.closeTo(m2Avg.f1, 12) },
        rmse: metricsFile.urgency.served.rmse,
        mae: metricsFile.urgency.served.mae,
        ece: metricsFile.served.ece,
      });
      // Cross-check against the file's own weighted F1 (sklearn average="weighted").
      expect(body.m1['weighted avg']['f1-score']).toBeCloseTo(ngram.weighted_f1, 9);
      expect(body.m2['weighted avg']['f1-score']).toBeCloseTo(served.weighted_f1, 9);
    }
  });

  it.each([['text/plain'], [PROMETHEUS_ACCEPT], ['application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'], ['application/openmetrics-text']])(
    'answers the Prometheus exposition to Accept: %s',
    async (accept) => {
      const gw = await gateway();
      await request(gw.app).post('/v1/tickets').send({ body: 'Server is down' }).expect(201);
      await request(gw.app).get('/v1/tickets/peek').expect(200);
      await request(gw.app).get(`/v2/tickets/00000000-0000-4000-8000-000000000000`).expect(404);
      await request(gw.app).get('/no/such/path').expect(404);
      await beat(gw, 'w1', 'half_open');

      const res = await request(gw.app).get('/metrics').set('Accept', accept);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const lines = res.text.split('\n');
      const sample = (prefix: string) => lines.find((l) => l.startsWith(prefix));
      expect(sample('triage_http_requests_total{method="POST",route="/v1/tickets",status="201"}')).toMatch(/ 1$/);
      expect(sample('triage_http_requests_total{method="GET",route="/v1/tickets/peek",status="200"}')).toMatch(/ 1$/);
      expect(sample('triage_http_requests_total{method="GET",route="/v2/tickets/:id",status="404"}')).toMatch(/ 1$/);
      expect(sample('triage_http_requests_total{method="GET",route="unmatched",status="404"}')).toMatch(/ 1$/);
      expect(sample('triage_http_request_duration_seconds_count{method="POST",route="/v1/tickets",status="201"}')).toMatch(/ 1$/);
      expect(sample('triage_queue_depth{queue="v1"}')).toMatch(/ 1$/);
      expect(sample('triage_encoder_breaker_workers{state="half_open"}')).toMatch(/ 1$/);
      expect(sample('triage_encoder_breaker_workers{state="closed"}')).toMatch(/ 0$/);
      expect(sample(`triage_model_info{model="gateway_fallback",version="${modelVersion}"}`)).toMatch(/ 1$/);
      expect(sample(`triage_model_info{model="worker",version="${modelVersion}"}`)).toMatch(/ 1$/);
    },
  );
});
