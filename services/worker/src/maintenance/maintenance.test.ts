import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { type DriftReference, StatsStore, silentLogger } from '@triage/shared';
import { alertsTestConfig, startTestAlerts } from '../../../../tests/support/alerts';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { processTicket } from '../../../../tests/support/tickets';
import { type WebhookReceiver, startReceiver } from '../../../../tests/support/webhook-receiver';
import type { AlertsRuntime } from '../alerts/alerts-runtime';
import { type MaintenanceRuntime, startMaintenance } from './maintenance-runtime';

jest.setTimeout(60_000);

let gw: TestGateway;
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The gateway and a worker's maintenance side (with its alert queues) on one prefix and one env. */
async function start(
  env: Record<string, string>,
  alertEnv: Record<string, string> = {},
  reference: DriftReference | null = null,
): Promise<{ maintenance: MaintenanceRuntime; alerts: AlertsRuntime }> {
  const prefix = uniquePrefix('maint');
  gw = buildGateway(prefix, undefined, env);
  stops.push(() => gw.close());
  await gw.ready();
  const alerts = await startTestAlerts(prefix, { ...env, ...alertEnv });
  stops.push(() => alerts.close());
  const config = alertsTestConfig(prefix, { MAINTENANCE_INTERVAL_MS: '200', ...env });
  const maintenance = await startMaintenance(config, silentLogger(), alerts, () => ({ modelVersion: 'sha256:drift-test', reference }));
  stops.push(() => maintenance.close());
  return { maintenance, alerts };
}

async function waiting(urgency: number, ageMs = 0): Promise<string> {
  const ticketId = randomUUID();
  await gw.store.create({ ticket_id: ticketId, subject: `u=${urgency}`, body: 'The export has been stuck since Monday.', accepted_at: new Date(Date.now() - ageMs).toISOString() });
  await processTicket(gw.store, ticketId, urgency);
  return ticketId;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('maintenance sweep (scheduled on the worker)', () => {
  it('returns an expired lease to the queue with no request arriving', async () => {
    await start({ LEASE_TTL_MS: '1000' });
    const id = await waiting(0.5);
    const leasedAt = Date.now();
    expect((await request(gw.app).get('/v2/tickets/next').set('X-Agent-Id', 'alice')).status).toBe(200);
    // store.get is a plain read: only the scheduled sweep can move the ticket back.
    await eventually(`ticket ${id} back in the agents' queue after its lease expired`, async () => ((await gw.store.get(id))?.status === 'processed' ? true : undefined));
    expect(Date.now() - leasedAt).toBeGreaterThanOrEqual(1000);
    expect(await gw.store.statusCounts()).toMatchObject({ leased: 0, processed: 1, waiting_for_agent: 1 });
    expect(await gw.redis.hget(gw.keys.ticket(id), 'lease_expiries')).toBe('1');
  });

  it('re-enqueues a pending ticket whose job never reached BullMQ, once, under its ticket id', async () => {
    await start({ PENDING_RECONCILE_AFTER_MS: '300' });
    const orphan = randomUUID();
    // What a gateway that died between the two writes leaves behind: the record, no job.
    await gw.store.create({ ticket_id: orphan, subject: 'Lost', body: 'Nobody triaged me', accepted_at: new Date().toISOString() });
    const healthy = (await request(gw.app).post('/v2/tickets').send({ body: 'queued normally' })).body.ticket_id as string;

    const job = await eventually(`the orphaned ticket ${orphan} re-enqueued`, async () => (await gw.ticketsQueue.getJob(orphan)) ?? undefined);
    expect(job.name).toBe('triage');
    expect(job.data).toEqual({ ticket_id: orphan, subject: 'Lost', body: 'Nobody triaged me', accepted_at: expect.any(String) });
    await sleep(800);
    expect(await gw.ticketsQueue.getJobCounts('waiting')).toEqual({ waiting: 2 });
    expect((await gw.ticketsQueue.getJob(healthy))?.id).toBe(healthy);
  });

  it('deletes processed and done tickets, their alert log and index entries after the retention time', async () => {
    await start({ RETENTION_DAYS: String(1.5 / 86_400) });
    const done = await waiting(0.9);
    const left = await waiting(0.2);
    await gw.alertLog.open(done, 'slack', 'slack', { status: 'queued' });
    await request(gw.app).get('/v2/tickets/next').set('X-Agent-Id', 'alice');
    expect((await request(gw.app).post(`/v2/tickets/${done}/ack`).set('X-Agent-Id', 'alice')).status).toBe(200);
    expect(await gw.store.statusCounts()).toMatchObject({ processed: 1, done: 1 });

    await eventually('both tickets deleted by retention', async () => ((await gw.store.get(left)) === null && (await gw.store.get(done)) === null ? true : undefined));
    expect((await request(gw.app).get(`/v2/tickets/${done}`)).status).toBe(404);
    expect(await gw.redis.exists(gw.keys.alertLog(done))).toBe(0);
    expect(await gw.store.statusCounts()).toEqual({ pending: 0, processing: 0, processed: 0, leased: 0, done: 0, failed: 0, waiting_for_agent: 0 });
    for (const index of [gw.keys.urgency, gw.keys.sla, gw.keys.retention, gw.keys.leases]) expect(await gw.redis.zcard(index)).toBe(0);
  });

  it('keeps tickets within the retention time', async () => {
    const { maintenance } = await start({});
    const id = await waiting(0.5);
    await maintenance.sweep();
    expect((await gw.store.get(id))?.status).toBe('processed');
  });

  it('trims corrections older than FEEDBACK_RETENTION_DAYS', async () => {
    const { maintenance } = await start({ FEEDBACK_RETENTION_DAYS: '1' });
    await gw.redis.xadd(gw.keys.feedback, `${Date.now() - 2 * 86_400_000}-0`, 'ticket_id', 'old');
    await gw.redis.xadd(gw.keys.feedback, '*', 'ticket_id', 'new');
    await maintenance.sweep();
    expect((await gw.redis.xrange(gw.keys.feedback, '-', '+')).map(([, f]) => f[1])).toEqual(['new']);
  });
});

describe('SLA alerts', () => {
  let hook: WebhookReceiver;
  beforeEach(async () => {
    hook = await startReceiver('/services/T0/B0/sla');
    stops.push(() => hook.close());
  });

  it('raise one warning and one breach per waiting ticket through the alert destinations, however often sweeps run', async () => {
    const env = { SLA_POLICY: '[{"min_urgency":0,"within":"2s"}]', SLA_WARN_BEFORE_MS: '1200' };
    const { maintenance } = await start(env, { SLACK_WEBHOOK_URL: hook.url });
    const waitingId = await waiting(0.3);
    const takenId = await waiting(0.4);
    // Taken by an agent before it was due: no SLA alert for it.
    expect((await request(gw.app).get('/v2/tickets/next').set('X-Agent-Id', 'bob')).body.ticket_id).toBe(takenId);

    // Besides the scheduled sweep, two extra sweepers race, as several workers would.
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      await Promise.all([maintenance.sweep(), maintenance.sweep()]);
      await sleep(100);
    }
    await eventually('two SLA alerts delivered', async () => (hook.delivered().length >= 2 ? true : undefined));
    await sleep(500);
    const texts = hook.delivered().map((r) => (JSON.parse(r.body) as { text: string }).text);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/^SLA at risk \(due .*\): u=0.3/);
    expect(texts[1]).toMatch(/^SLA breached \(was due .*\): u=0.3/);
    const log = (await request(gw.app).get(`/v2/tickets/${waitingId}/alerts`)).body.alerts;
    expect(log).toEqual([
      expect.objectContaining({ destination: 'slack', kind: 'sla.breach', status: 'delivered', attempts: 1 }),
      expect.objectContaining({ destination: 'slack', kind: 'sla.warning', status: 'delivered', attempts: 1 }),
    ]);
    expect((await request(gw.app).get(`/v2/tickets/${takenId}/alerts`)).body.alerts).toEqual([]);
    expect(await gw.redis.zscore(gw.keys.sla, waitingId)).toBeNull();

    // /v2/stats counts the breach of the ticket left waiting once, also when an agent takes it late.
    const breaches = async () => (await request(gw.app).get('/v2/stats?window=1h')).body.agents.sla_breaches as number;
    expect(await breaches()).toBe(1);
    expect((await request(gw.app).get('/v2/tickets/next').set('X-Agent-Id', 'carol')).body).toMatchObject({ ticket_id: waitingId, sla: { state: 'missed' } });
    await sleep(300);
    expect(await breaches()).toBe(1);
  });
});

describe('drift alert', () => {
  // Two queues, two urgency bins, token lengths cut at their percentiles: small enough to shape by hand.
  const reference: DriftReference = {
    predicted_queue_share: { Billing: 0.5, Technical: 0.5 },
    urgency: { edges: [0, 0.5, 1], share: [0.5, 0.5] },
    token_length_percentiles: { '5': 10, '25': 20, '50': 30, '75': 40, '95': 50 },
  };
  // One length inside each percentile bin, as many as the bin's share of 20 (5 %, 20 %, 25 %, 25 %, 20 %, 5 %).
  const TOKENS = [5, 15, 15, 15, 15, 25, 25, 25, 25, 25, 35, 35, 35, 35, 35, 45, 45, 45, 45, 55];
  const MINUTE = 60_000;

  let hook: WebhookReceiver;
  let stats: StatsStore;
  beforeEach(async () => {
    hook = await startReceiver('/drift-hook');
    stops.push(() => hook.close());
  });

  /** 20 processed tickets at `at` shaped like the reference, or (shifted) all predicted Billing. */
  async function record(at: number, shifted: boolean, times = 1): Promise<void> {
    for (let k = 0; k < times; k++) {
      for (const [i, tokens] of TOKENS.entries()) {
        const category = shifted || i % 2 === 0 ? 'Billing' : 'Technical';
        const event = { at, category, action: 'AUTO_ROUTE', model_used: 'encoder', model_version: 'sha256:drift-test', urgency: i % 2 === 0 ? 0.25 : 0.75, tokens, latency_ms: 40 };
        await stats.recordProcessed(randomUUID(), event, 0.5);
      }
    }
  }
  const deliveries = () => hook.delivered().map((r) => JSON.parse(r.body) as { delivery_id: string; event: string; drift: Record<string, unknown> });

  it('sends one alert when a signal crosses 0.25, none while it stays up, and again only after a whole window below', async () => {
    // Only the sweeps below run (at chosen times): the scheduler's first tick aside, it waits an hour.
    const env = { MAINTENANCE_INTERVAL_MS: '3600000', DRIFT_ALERT_WINDOW: '10m', DRIFT_MIN_SAMPLES: '20' };
    const { maintenance } = await start(env, { WEBHOOK_URL: hook.url, WEBHOOK_SECRET: 'a-test-secret-of-32-characters!!' }, reference);
    stats = new StatsStore(gw.redis, gw.keys);
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE;

    await record(t0, false);
    await maintenance.sweep(t0);
    await record(t0, true, 3);
    await maintenance.sweep(t0);
    await eventually('the first drift alert delivered', async () => (deliveries().length === 1 ? true : undefined));
    const [first] = deliveries();
    expect(first).toMatchObject({ event: 'drift', delivery_id: 'drift.predicted_queue.1.webhook' });
    expect(first!.drift).toMatchObject({ signal: 'predicted_queue', episode: 1, window: '10m', n: 80, model_version: 'sha256:drift-test' });
    expect(first!.drift.psi).toBeGreaterThanOrEqual(0.25);
    expect(first!.drift.bins).toEqual([
      { bin: 'Billing', reference: 0.5, current: 0.875 },
      { bin: 'Technical', reference: 0.5, current: 0.125 },
    ]);

    // Still shifted a minute later, with two workers sweeping at once: nothing new.
    await record(t0 + MINUTE, true);
    await Promise.all([maintenance.sweep(t0 + MINUTE), maintenance.sweep(t0 + MINUTE)]);
    // Stable for part of a window, then shifted again: not re-armed yet, so still nothing.
    await record(t0 + 11 * MINUTE, false);
    await maintenance.sweep(t0 + 11 * MINUTE);
    await record(t0 + 12 * MINUTE, true, 2);
    await maintenance.sweep(t0 + 12 * MINUTE);
    // Stable from 23 min (the window no longer holds the shifted tickets) to 33 min: a whole window below.
    for (const minute of [23, 28, 33]) {
      await record(t0 + minute * MINUTE, false);
      await maintenance.sweep(t0 + minute * MINUTE);
    }
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(500);
    expect(deliveries()).toHaveLength(1);

    // Re-armed: the next crossing alerts again, as a new episode.
    await record(t0 + 34 * MINUTE, true, 4);
    await maintenance.sweep(t0 + 34 * MINUTE);
    await eventually('the second drift alert delivered', async () => (deliveries().length === 2 ? true : undefined));
    expect(deliveries()[1]).toMatchObject({ event: 'drift', delivery_id: 'drift.predicted_queue.2.webhook', drift: { episode: 2 } });
    await sleep(500);
    expect(deliveries().map((d) => d.drift.signal)).toEqual(['predicted_queue', 'predicted_queue']);
    // Both also in the service-wide delivery log (GET /v2/alerts).
    const log = (await request(gw.app).get('/v2/alerts?kind=drift')).body.deliveries;
    expect(log).toEqual([
      expect.objectContaining({ kind: 'drift', destination: 'webhook', outcome: 'delivered', ticket_id: null, attempts: 1 }),
      expect.objectContaining({ kind: 'drift', destination: 'webhook', outcome: 'delivered', ticket_id: null, attempts: 1 }),
    ]);
  });
});
