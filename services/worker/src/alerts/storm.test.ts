import type { TriagePrediction } from '@triage/shared';
import { AlertLog, redisKeys } from '@triage/shared';
import { processedTicket, startTestAlerts } from '../../../../tests/support/alerts';
import { eventually, plainRedis, uniquePrefix } from '../../../../tests/support/test-redis';
import { type RecordedRequest, type WebhookReceiver, startReceiver } from '../../../../tests/support/webhook-receiver';
import type { AlertsRuntime } from './alerts-runtime';

jest.setTimeout(180_000);

const DIM = 32;
const norm = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
/** Deterministic noise, so a failure reproduces. */
function noise(seed: number): number[] {
  let s = seed;
  return Array.from({ length: DIM }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  });
}
const base = norm(Array.from({ length: DIM }, () => 1));
/** cos(base, near(i)) ≈ 0.99: a near-duplicate of the storm's theme. */
const near = (i: number) => norm(base.map((x, k) => x + 0.1 * noise(i + 1)[k]!));
/** A standard basis vector: cos with base ≈ 0.18, an unrelated ticket. */
const unrelated = (i: number) => Array.from({ length: DIM }, (_, k) => (k === i ? 1 : 0));

const prediction = (embedding: number[]): TriagePrediction => ({
  category: 'Technical Support',
  confidence: 0.9,
  top3: [],
  probabilities: [],
  urgency: 0.95,
  embedding,
  modelVersion: 'test',
});

const redis = plainRedis();
afterAll(() => redis.quit());

const isIncident = (r: RecordedRequest) => r.body.includes('Major incident') || r.body.includes('"incident.');
const incidentCount = (r: RecordedRequest) => Number(/(\d+) similar urgent tickets|"count":(\d+)/.exec(r.body)!.slice(1).find(Boolean));

describe('storm grouping', () => {
  let receivers: WebhookReceiver[] = [];
  let runtimes: AlertsRuntime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
    runtimes = [];
  });

  it('turns 30 near-duplicate urgent tickets into one major-incident alert per destination, across a worker restart', async () => {
    const slack = await startReceiver();
    const discord = await startReceiver('/api/webhooks/42/tok', (req) =>
      req.method === 'POST' && req.url.includes('wait=true') ? { status: 200, body: JSON.stringify({ id: '1234567890' }) } : { status: req.method === 'PATCH' ? 200 : 204 },
    );
    const generic = await startReceiver('/triage');
    receivers = [slack, discord, generic];
    const prefix = uniquePrefix('storm');
    const env = {
      SLACK_WEBHOOK_URL: slack.url,
      DISCORD_WEBHOOK_URL: discord.url,
      WEBHOOK_URL: generic.url,
      WEBHOOK_SECRET: 'storm-secret-0123456789',
      STORM_SETTLE_MS: '1500',
      STORM_UPDATE_MS: '1500',
    };
    const tickets = Array.from({ length: 30 }, (_, i) => processedTicket({ subject: `Login page returns 502 (#${i})` }));
    const others = [processedTicket({ subject: 'Refund not received' }), processedTicket({ subject: 'Invoice address wrong' })];

    const first = await startTestAlerts(prefix, env);
    runtimes.push(first);
    for (const [i, t] of tickets.slice(0, 15).entries()) await first.onProcessed(t, prediction(near(i)));
    await first.onProcessed(others[0]!, prediction(unrelated(0)));
    await first.close();

    // The grouping state is in Redis: a new worker continues the same incident.
    const second = await startTestAlerts(prefix, env);
    runtimes.push(second);
    for (const [i, t] of tickets.slice(15).entries()) await second.onProcessed(t, prediction(near(15 + i)));
    await second.onProcessed(others[1]!, prediction(unrelated(1)));
    // A reprocessed ticket keeps its first answer.
    await second.onProcessed(tickets[3]!, prediction(near(3)));

    for (const hook of receivers) {
      // Queue order between the delayed incident post and the last single alert is not fixed,
      // so wait for both: the incident showing all 30, and at least the expected singles.
      const singles = await eventually('an incident counting 30 and at least 12 single alerts delivered', async () => {
        const latest = hook.delivered().filter(isIncident).at(-1);
        const delivered = hook.delivered().filter((r) => !isIncident(r));
        return latest && incidentCount(latest) === 30 && delivered.length >= 12 ? delivered : undefined;
      }, { intervalMs: 200 });
      expect(singles).toHaveLength(12); // the first STORM_SIZE of the storm + the 2 unrelated
    }

    // One incident post per destination; later counts edit it (Discord) or follow it up.
    expect(slack.delivered().filter((r) => r.body.includes('Major incident:'))).toHaveLength(1);
    expect(generic.delivered().filter((r) => r.body.includes('"incident.opened"'))).toHaveLength(1);
    const discordIncidents = discord.delivered().filter(isIncident);
    expect(discordIncidents.filter((r) => r.method === 'POST')).toHaveLength(1);
    for (const edit of discordIncidents.filter((r) => r.method === 'PATCH')) expect(edit.url).toBe('/api/webhooks/42/tok/messages/1234567890');

    const log = new AlertLog(redis, redisKeys(prefix));
    for (const destination of ['slack', 'discord', 'webhook']) {
      const entries = (await Promise.all(tickets.map((t) => log.get(t.ticket_id, destination)))).map((e) => e!);
      expect(entries.filter((e) => e.status === 'grouped')).toHaveLength(20);
      expect(new Set(entries.filter((e) => e.status === 'grouped').map((e) => e.incident_id)).size).toBe(1);
      const singles = await eventually('10 single alerts delivered', async () => {
        const current = await Promise.all(tickets.map((t) => log.get(t.ticket_id, destination)));
        const delivered = current.filter((e) => e?.status === 'delivered');
        return delivered.length === 10 ? delivered : undefined;
      }, { intervalMs: 200 });
      expect(singles).toHaveLength(10);
    }
  });

  it('keeps tickets that are urgent but not near-duplicates as individual alerts', async () => {
    const hook = await startReceiver('/triage');
    receivers = [hook];
    const prefix = uniquePrefix('storm-none');
    const runtime = await startTestAlerts(prefix, { WEBHOOK_URL: hook.url, WEBHOOK_SECRET: 'storm-secret-0123456789', STORM_SIZE: '3' });
    runtimes.push(runtime);
    const tickets = Array.from({ length: 8 }, () => processedTicket());
    for (const [i, t] of tickets.entries()) await runtime.onProcessed(t, prediction(unrelated(i)));

    const log = new AlertLog(redis, redisKeys(prefix));
    const entries = await Promise.all(tickets.map((t) => log.get(t.ticket_id, 'webhook')));
    expect(entries.filter((e) => e?.status === 'grouped')).toHaveLength(0);
    await eventually('8 alerts delivered', async () => (hook.delivered().length === 8 ? true : undefined), { intervalMs: 100 });
    expect(hook.requests.filter(isIncident)).toHaveLength(0);
  });
});
