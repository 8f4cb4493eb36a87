import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { silentLogger } from '@triage/shared';
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
async function start(env: Record<string, string>, alertEnv: Record<string, string> = {}): Promise<{ maintenance: MaintenanceRuntime; alerts: AlertsRuntime }> {
  const prefix = uniquePrefix('maint');
  gw = buildGateway(prefix, undefined, env);
  stops.push(() => gw.close());
  await gw.ready();
  const alerts = await startTestAlerts(prefix, { ...env, ...alertEnv });
  stops.push(() => alerts.close());
  const maintenance = await startMaintenance(alertsTestConfig(prefix, { MAINTENANCE_INTERVAL_MS: '200', ...env }), silentLogger(), alerts.onSla);
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
    await eventually(async () => ((await gw.store.get(id))?.status === 'processed' ? true : undefined));
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

    const job = await eventually(async () => (await gw.ticketsQueue.getJob(orphan)) ?? undefined);
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

    await eventually(async () => ((await gw.store.get(left)) === null && (await gw.store.get(done)) === null ? true : undefined));
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
    await eventually(async () => (hook.delivered().length >= 2 ? true : undefined));
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
  });
});
