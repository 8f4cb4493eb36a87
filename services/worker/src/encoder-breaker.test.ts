import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  AlertLog,
  type FallbackModel,
  type ModelConfig,
  type TicketResponse,
  type TriageModel,
  type TriagePrediction,
  loadFallbackModel,
  ticketResponseSchema,
} from '@triage/shared';
import { capturingLogger, startTestAlerts } from '../../../tests/support/alerts';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../tests/support/test-redis';
import { startReceiver } from '../../../tests/support/webhook-receiver';
import { modelDir, testWorkerConfig } from '../../../tests/support/worker';
import type { AlertsRuntime } from './alerts/alerts-runtime';
import { type TriageWorkerHandle, type TriageWorkerHooks, startTriageWorker } from './triage-worker';

const fallback: FallbackModel = loadFallbackModel(modelDir());

/**
 * The encoder is the dependency here, so the test controls it: healthy, failing, or hung (never
 * answers until released). The breaker, fallback, processor, Redis and BullMQ are all real.
 */
class ControlledEncoder implements TriageModel {
  mode: 'healthy' | 'failing' | 'hung' = 'healthy';
  calls = 0;
  private readonly hung: (() => void)[] = [];
  readonly modelVersion = fallback.modelVersion;
  readonly labels = fallback.labels;
  readonly config = { model_version: fallback.modelVersion, labels: [...fallback.labels], max_length: 256, alert_threshold: 0.8 } as ModelConfig;

  inView(_text: string, cuts: readonly number[]): Promise<number> {
    return Promise.resolve(cuts.length);
  }

  predict(texts: string[]): Promise<TriagePrediction[]> {
    this.calls += 1;
    const answer = texts.map((): TriagePrediction => {
      const top3 = this.labels.slice(0, 3).map((category, i) => ({ category, probability: [0.9, 0.06, 0.04][i]! }));
      return { category: top3[0]!.category, confidence: 0.9, top3, probabilities: top3.map((t) => t.probability), urgency: 0.42, embedding: [0.6, 0.8], modelVersion: this.modelVersion };
    });
    if (this.mode === 'failing') return Promise.reject(new Error('onnx session exploded'));
    if (this.mode === 'hung') return new Promise((resolve) => this.hung.push(() => resolve(answer)));
    return Promise.resolve(answer);
  }

  release(): void {
    for (const resolve of this.hung.splice(0)) resolve();
  }

  async dispose(): Promise<void> {
    this.release();
  }
}

let gw: TestGateway;
const workers: TriageWorkerHandle[] = [];
const cleanups: (() => void)[] = [];

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('breaker'));
  await gw.ready();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await gw.close();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function worker(env: Record<string, string>, encoder?: TriageModel, hooks: TriageWorkerHooks = {}) {
  const { logger, lines } = capturingLogger();
  const handle = await startTriageWorker(
    testWorkerConfig(gw.config.REDIS_PREFIX, { WORKER_CONCURRENCY: '1', ...env }),
    logger,
    hooks,
    encoder ? { loadEncoder: async () => encoder } : {},
  );
  workers.push(handle);
  return { handle, logs: () => lines.map((l) => JSON.parse(l) as { message: string; breaker?: { state: string } }) };
}

async function triage(body: string): Promise<TicketResponse> {
  const res = await request(gw.app).post('/v2/tickets').send({ body });
  expect(res.status).toBe(202);
  const id = res.body.ticket_id as string;
  return eventually(`ticket ${id} processed or failed`, async () => {
    const t = await gw.store.get(id);
    return t && (t.status === 'processed' || t.status === 'failed') ? t : undefined;
  });
}

/** A fallback result: processed, same response fields as the encoder's, the n-gram model's answer. */
function expectFallback(ticket: TicketResponse, body: string): void {
  expect(ticketResponseSchema.parse(ticket)).toMatchObject({ status: 'processed', model_used: 'fallback', model_version: fallback.modelVersion });
  const expected = fallback.predict(body);
  expect(ticket.category).toBe(expected.category);
  expect(ticket.confidence).toBeCloseTo(expected.confidence, 12);
  expect(ticket.top3).toHaveLength(3);
  expect(ticket.urgency_score).toBeCloseTo(expected.urgency, 12);
  expect(ticket.action).not.toBeNull();
}

const readyBreakers = async () => (await request(gw.app).get('/ready')).body.encoder_breakers as { state: string; reason: string | null }[];

describe.each([
  ['failing', {}, /onnx session exploded/],
  ['hung', { ENCODER_LATENCY_BUDGET_MS: '100' }, /exceeded its latency budget of 100 ms/],
] as const)('encoder circuit breaker with a %s encoder', (mode, env, reason) => {
  it('serves the fallback, opens after N consecutive failures, then a successful probe closes it', async () => {
    const encoder = new ControlledEncoder();
    const { handle, logs } = await worker({ BREAKER_FAILURE_THRESHOLD: '2', BREAKER_COOLDOWN_MS: '300', ...env }, encoder);

    const healthy = await triage('My invoice shows the wrong amount.');
    expect(healthy).toMatchObject({ status: 'processed', model_used: 'encoder', confidence: 0.9, urgency_score: 0.42 });

    encoder.mode = mode;
    const first = 'The login page returns an error.';
    expectFallback(await triage(first), first);
    expect(handle.breaker()).toMatchObject({ state: 'closed', consecutive_failures: 1 });
    const second = 'Our whole office network is down.';
    expectFallback(await triage(second), second);
    expect(handle.breaker()).toMatchObject({ state: 'open', consecutive_failures: 2, reason: expect.stringMatching(reason) });
    await eventually('the encoder breaker open', async () => ((await readyBreakers())[0]?.state === 'open' ? true : undefined));
    expect((await readyBreakers())[0]!.reason).toMatch(reason);
    expect(logs().some((l) => l.message === 'encoder circuit breaker closed → open')).toBe(true);

    // Recovered encoder: tickets keep getting the fallback until the cool-down lets a probe through.
    encoder.mode = 'healthy';
    encoder.release();
    const probed = await eventually('a ticket served by the encoder again', async () => {
      const t = await triage('Please reset my password.');
      return t.model_used === 'encoder' ? t : undefined;
    });
    expect(probed.status).toBe('processed');
    expect(handle.breaker()).toMatchObject({ state: 'closed', consecutive_failures: 0, reason: null });
    await eventually('the encoder breaker closed', async () => ((await readyBreakers())[0]?.state === 'closed' ? true : undefined));
    const transitions = logs().flatMap((l) => (l.message.startsWith('encoder circuit breaker') ? [l.message] : []));
    expect(transitions).toEqual([
      'encoder circuit breaker closed → open',
      'encoder circuit breaker open → half_open',
      'encoder circuit breaker half_open → closed',
    ]);
  });
});

describe('a worker whose model directory has a broken encoder', () => {
  function bundleWith(onnx: 'missing' | 'corrupt'): string {
    const dir = mkdtempSync(join(tmpdir(), 'triage-broken-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const file of ['config.json', 'tokenizer.json', 'ngram.json']) copyFileSync(join(modelDir(), file), join(dir, file));
    if (onnx === 'corrupt') {
      mkdirSync(join(dir, 'onnx'));
      writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), 'this is not an onnx graph');
    }
    return dir;
  }

  it.each([
    ['missing', /encoder failed to load: ONNX model missing/],
    ['corrupt', /encoder failed to load: ONNX model .* cannot be loaded/],
  ] as const)('starts with the breaker open (ONNX file %s) and triages real tickets with the fallback', async (onnx, reason) => {
    const { handle } = await worker({ MODEL_DIR: bundleWith(onnx) });
    expect(handle.breaker()).toMatchObject({ state: 'open', reason: expect.stringMatching(reason) });
    expect(handle.modelVersion).toBe(fallback.modelVersion);

    const bodies = ['I was charged twice for my subscription.', 'The VPN drops every few minutes, urgent!', 'Wie ändere ich meine Lieferadresse?'];
    const tickets = await Promise.all(bodies.map(triage));
    tickets.forEach((t, i) => expectFallback(t, bodies[i]!));

    const ready = await request(gw.app).get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.encoder_breakers).toEqual([expect.objectContaining({ worker_id: handle.workerId, state: 'open', reason: expect.stringMatching(reason) })]);
  });
});

describe('alerts for fallback results', () => {
  it('go out one by one: without an embedding, identical tickets are never grouped into a storm', async () => {
    const receiver = await startReceiver('/triage');
    cleanups.push(() => void receiver.close());
    // Threshold 0 so every ticket alerts; storm size 2 so three encoder results would form an incident.
    const alerts: AlertsRuntime = await startTestAlerts(gw.config.REDIS_PREFIX, {
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: 'fallback-secret-0123456789',
      ALERT_THRESHOLD: '0',
      STORM_SIZE: '2',
    });
    try {
      const broken = join(mkdtempSync(join(tmpdir(), 'triage-broken-')), 'model');
      mkdirSync(broken);
      cleanups.push(() => rmSync(join(broken, '..'), { recursive: true, force: true }));
      for (const file of ['config.json', 'ngram.json']) copyFileSync(join(modelDir(), file), join(broken, file));
      await worker({ MODEL_DIR: broken }, undefined, { onProcessed: alerts.onProcessed });

      const body = 'Production database unreachable, all customers affected, urgent!';
      const tickets: TicketResponse[] = [];
      for (let i = 0; i < 4; i++) tickets.push(await triage(body));
      for (const t of tickets) expect(t).toMatchObject({ model_used: 'fallback' });
      const log = new AlertLog(gw.redis, gw.keys);
      const entries = await eventually('every ticket\'s alert delivered', async () => {
        const all = await Promise.all(tickets.map((t) => log.list(t.ticket_id)));
        return all.every((e) => e[0]?.status === 'delivered') ? all.map((e) => e[0]!) : undefined;
      });
      expect(entries.map((e) => e.incident_id)).toEqual([null, null, null, null]);
      expect(receiver.delivered()).toHaveLength(4);
    } finally {
      await alerts.close();
    }
  });
});
