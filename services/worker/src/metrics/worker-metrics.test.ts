import { JobName, type TriageModel, type TriagePrediction, loadFallbackModel } from '@triage/shared';
import request from 'supertest';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { type ServiceProcess, spawnService } from '../../../../tests/support/service-process';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { type WebhookReceiver, startReceiver } from '../../../../tests/support/webhook-receiver';
import { modelDir, startTestWorker } from '../../../../tests/support/worker';
import type { TriageWorkerHandle } from '../triage-worker';
import { createWorkerMetrics } from './worker-metrics';

/** The value of one sample line of a Prometheus text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function submit(gw: TestGateway, body: string): Promise<string> {
  const res = await request(gw.app).post('/v2/tickets').send({ subject: 'Outage', body });
  expect(res.status).toBe(202);
  return res.body.ticket_id as string;
}

describe('worker metrics port (a real worker process)', () => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let worker: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    const prefix = uniquePrefix('wm');
    gw = buildGateway(prefix);
    await gw.ready();
    receiver = await startReceiver();
    worker = spawnService('services/worker/dist/main.js', {
      REDIS_PREFIX: prefix,
      WORKER_METRICS_PORT: '0',
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_CONCURRENCY: '1',
      SLACK_WEBHOOK_URL: receiver.url,
      ALERT_THRESHOLD: '0',
      STORM_SETTLE_MS: '0',
    });
    const listening = await worker.logged('metrics listening');
    base = `http://127.0.0.1:${String(listening.port)}`;
  }, 30_000);
  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await gw?.close();
  });

  it('answers /health while the model loads, and /ready once jobs are consumed', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    await worker.logged('worker ready');
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'ready', breaker: 'closed' });
  }, 60_000);

  it('counts a triaged ticket, its inference batch and its alert delivery', async () => {
    await worker.logged('worker ready');
    const id = await submit(gw, 'All servers are down since 9:00 and nobody can log in.');
    await eventually(`ticket ${id} processed`, async () => ((await gw.store.get(id))?.status === 'processed' ? true : undefined));
    const text = await eventually('the delivered Slack alert counted on /metrics', async () => {
      const body = await (await fetch(`${base}/metrics`)).text();
      return sample(body, 'triage_alert_deliveries_total{destination="slack",outcome="delivered"}') === 1 ? body : undefined;
    });
    expect(receiver.delivered()).toHaveLength(1);
    expect(sample(text, 'triage_results_total{model_used="encoder"}')).toBe(1);
    expect(sample(text, 'triage_inference_latency_seconds_count{model_used="encoder"}')).toBe(1);
    expect(sample(text, 'triage_inference_batch_size_count')).toBe(1);
    expect(sample(text, 'triage_inference_batch_size_sum')).toBe(1);
    expect(sample(text, 'triage_worker_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('answers unknown paths with a JSON 404', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('worker metrics (in-process worker, hung encoder)', () => {
  const fallback = loadFallbackModel(modelDir());
  let gw: TestGateway;
  let handle: TriageWorkerHandle | undefined;
  beforeEach(async () => {
    gw = buildGateway(uniquePrefix('wm2'));
    await gw.ready();
  });
  afterEach(async () => {
    await handle?.close();
    await gw.close();
  });

  it('counts breaker transitions, fallback answers and failed jobs', async () => {
    const metrics = createWorkerMetrics();
    const hung: TriageModel = {
      modelVersion: 'sha256:hung',
      labels: fallback.labels,
      config: fallback.config!,
      predict: () => new Promise<TriagePrediction[]>(() => undefined),
      inView: async (_text, cuts) => cuts.length,
      dispose: async () => undefined,
    };
    handle = await startTestWorker(
      gw.config.REDIS_PREFIX,
      { ENCODER_LATENCY_BUDGET_MS: '50', BREAKER_FAILURE_THRESHOLD: '1', WORKER_CONCURRENCY: '1' },
      {},
      { fallback, metrics, loadEncoder: async () => hung },
    );
    const id = await submit(gw, 'Printer jammed again');
    await eventually(`ticket ${id} processed`, async () => ((await gw.store.get(id))?.status === 'processed' ? true : undefined));
    await gw.ticketsQueue.add(JobName.Triage, { nonsense: true } as never, { jobId: 'bad-job' });
    const text = await eventually('the bad job counted as a final failure on /metrics', async () => {
      const body = await metrics.register.metrics();
      return sample(body, 'triage_job_failures_total{queue="tickets",final="true"}') === 1 ? body : undefined;
    });
    expect(sample(text, 'triage_breaker_transitions_total{from="closed",to="open"}')).toBe(1);
    expect(sample(text, 'triage_results_total{model_used="fallback"}')).toBe(1);
    expect(sample(text, 'triage_results_total{model_used="encoder"}')).toBeUndefined();
    expect(handle.readiness()).toMatchObject({ ready: true, breaker: 'open' });
    await handle.close();
    expect(handle.readiness().ready).toBe(false);
    handle = undefined;
  }, 30_000);
});
