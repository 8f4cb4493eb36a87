import request from 'supertest';
import { AlertLog, QueueName, redisKeys } from '@triage/shared';
import { Queue } from 'bullmq';
import { startTestAlerts } from '../../../../tests/support/alerts';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { type RecordedRequest, type WebhookReceiver, startReceiver } from '../../../../tests/support/webhook-receiver';
import { startTestWorker } from '../../../../tests/support/worker';
import type { TriageWorkerHandle } from '../triage-worker';
import type { AlertsRuntime } from './alerts-runtime';

jest.setTimeout(300_000);

let gw: TestGateway;
let hook: WebhookReceiver;
let alerts: AlertsRuntime | undefined;
let worker: TriageWorkerHandle | undefined;

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('alerts-e2e'));
  await gw.ready();
  hook = await startReceiver('/triage');
});
afterEach(async () => {
  await worker?.close();
  await alerts?.close();
  await hook.close();
  await gw.close();
});

/** The worker process's wiring from main.ts: alerts first, then triage with the hook. */
async function startWorker(env: Record<string, string>): Promise<void> {
  // Threshold 0: every processed ticket alerts, whatever the shipped model scores it.
  const alertEnv = { WEBHOOK_URL: hook.url, WEBHOOK_SECRET: 'e2e-secret-0123456789', ALERT_THRESHOLD: '0', ...env };
  alerts = await startTestAlerts(gw.config.REDIS_PREFIX, alertEnv);
  worker = await startTestWorker(gw.config.REDIS_PREFIX, {}, { onProcessed: alerts.onProcessed });
}

async function submit(body: string, subject?: string): Promise<string> {
  const res = await request(gw.app).post('/v2/tickets').send(subject ? { subject, body } : { body });
  expect(res.status).toBe(202);
  return res.body.ticket_id as string;
}

const isIncident = (r: RecordedRequest) => r.body.includes('"incident.');

describe('alerts through the real worker and the shipped model', () => {
  it('groups 30 near-identical outage tickets into one major-incident alert', async () => {
    await startWorker({ STORM_SETTLE_MS: '1000', STORM_UPDATE_MS: '1000' });
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      ids.push(await submit(`Our production server is down since 09:00 and customers cannot log in. Error 503 on every page. Ref ${1000 + i}`, 'Production outage'));
    }

    const latest = await eventually('an incident counting 30 and at least 10 single alerts delivered', async () => {
      const last = hook.delivered().filter(isIncident).at(-1);
      const singles = hook.delivered().filter((r) => !isIncident(r));
      return last && JSON.parse(last.body).incident.count === 30 && singles.length >= 10 ? last : undefined;
    }, { intervalMs: 200 });
    expect(JSON.parse(latest.body).incident.tickets.length).toBeGreaterThan(0);
    expect(hook.delivered().filter((r) => r.body.includes('"incident.opened"'))).toHaveLength(1);
    expect(hook.delivered().filter((r) => !isIncident(r))).toHaveLength(10);
    const log = new AlertLog(gw.redis, redisKeys(gw.config.REDIS_PREFIX));
    const statuses = await Promise.all(ids.map(async (id) => (await log.get(id, 'webhook'))?.status));
    expect(statuses.filter((s) => s === 'grouped')).toHaveLength(20);
  });

  it('retries a failing webhook without running the model again', async () => {
    hook.respondWith((_req, i) => (i < 3 ? { status: 503 } : { status: 204 }));
    await startWorker({});
    const id = await submit('The payment terminal in store 12 rejects every card since this morning.');

    const entry = await eventually('the alert delivered', async () => {
      const res = await request(gw.app).get(`/v2/tickets/${id}/alerts`);
      return res.body.alerts?.[0]?.status === 'delivered' ? res.body.alerts[0] : undefined;
    }, { intervalMs: 100 });
    expect(entry).toMatchObject({ destination: 'webhook', type: 'generic', attempts: 4 });
    expect(hook.delivered()).toHaveLength(1);

    // One triage job, one attempt, one result: the webhook's failures stayed in the alerts queue.
    const tickets = new Queue(QueueName.Tickets, { connection: gw.redis, prefix: gw.keys.bullPrefix });
    const job = await tickets.getJob(id);
    expect(job!.attemptsMade).toBe(1);
    expect(job!.returnvalue).toEqual({ ticket_id: id, outcome: 'processed' });
    await tickets.close();
  });
});
