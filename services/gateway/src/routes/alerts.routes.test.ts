import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ticketAlertsResponseSchema } from '@triage/shared';
import { processedTicket, startTestAlerts } from '../../../../tests/support/alerts';
import { expectDocumented } from '../../../../tests/support/openapi';
import { type TestGateway, buildGateway } from '../../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../../tests/support/test-redis';
import { startReceiver } from '../../../../tests/support/webhook-receiver';

jest.setTimeout(120_000);

let gw: TestGateway;
let prefix: string;

beforeEach(async () => {
  prefix = uniquePrefix('gw-alerts');
  gw = buildGateway(prefix);
  await gw.ready();
});
afterEach(() => gw.close());

async function createTicket(): Promise<string> {
  const res = await request(gw.app).post('/v2/tickets').send({ subject: 'Site down', body: 'Nothing loads since 9:00' });
  expect(res.status).toBe(202);
  return res.body.ticket_id as string;
}

describe('GET /v2/tickets/:id/alerts', () => {
  it('reports per destination status, attempts, last error and delivered_at, without URLs or secrets', async () => {
    const slack = await startReceiver('/hooks/T1/B1/slack-token');
    // A revoked Discord webhook answers 404 and echoes what it was called with.
    const discord = await startReceiver('/api/webhooks/9/discord-token', (req) => ({ status: 404, body: `Unknown Webhook http://127.0.0.1${req.url}` }));
    const alerts = await startTestAlerts(prefix, { SLACK_WEBHOOK_URL: slack.url, DISCORD_WEBHOOK_URL: discord.url });
    try {
      const ticketId = await createTicket();
      await alerts.onProcessed(processedTicket({ ticket_id: ticketId }));

      const body = await eventually('both alerts of the ticket delivered or failed', async () => {
        const res = await request(gw.app).get(`/v2/tickets/${ticketId}/alerts`);
        expect(res.status).toBe(200);
        const done = res.body.alerts.every((a: { status: string }) => a.status === 'delivered' || a.status === 'failed');
        return done && res.body.alerts.length === 2 ? res.body : undefined;
      }, { intervalMs: 100 });

      expect(ticketAlertsResponseSchema.parse(body)).toEqual(body);
      expect(body.ticket_id).toBe(ticketId);
      expect(body.alerts).toEqual([
        expect.objectContaining({ destination: 'discord', type: 'discord', status: 'failed', attempts: 1, delivered_at: null, incident_id: null }),
        expect.objectContaining({ destination: 'slack', type: 'slack', status: 'delivered', attempts: 1, last_error: null, incident_id: null }),
      ]);
      expect(body.alerts[0].last_error).toMatch(/^HTTP 404: Unknown Webhook/);
      expect(Date.parse(body.alerts[1].delivered_at)).not.toBeNaN();
      const text = JSON.stringify(body);
      for (const leaked of ['slack-token', 'discord-token', '/hooks/', '/api/webhooks/']) expect(text).not.toContain(leaked);
    } finally {
      await alerts.close();
      await Promise.all([slack.close(), discord.close()]);
    }
  });

  it('strips any URL that reached the log', async () => {
    const ticketId = await createTicket();
    await gw.alertLog.open(ticketId, 'pager', 'generic', { status: 'queued' });
    await gw.alertLog.update(ticketId, 'pager', { status: 'retrying', attempts: 1, last_error: 'connect to https://pager.example.com/hook?token=abc failed' });

    const res = await request(gw.app).get(`/v2/tickets/${ticketId}/alerts`);
    expect(res.status).toBe(200);
    expect(res.body.alerts[0]).toMatchObject({ destination: 'pager', status: 'retrying', attempts: 1, last_error: 'connect to [redacted-url] failed' });
  });

  it('is an empty list for a ticket without alerts and 404 JSON for an unknown or malformed id', async () => {
    const ticketId = await createTicket();
    expect((await request(gw.app).get(`/v2/tickets/${ticketId}/alerts`)).body).toEqual({ ticket_id: ticketId, alerts: [] });

    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await request(gw.app).get(`/v2/tickets/${id}/alerts`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: `ticket ${id} not found` });
    }
  });
});

describe('GET /v2/alerts', () => {
  it('logs every delivery outcome service-wide, newest first, filtered and paged, without URLs', async () => {
    // Slack fails once then takes the retry; Discord's webhook was revoked (permanent).
    const slack = await startReceiver('/hooks/T1/B1/slack-token', (_req, i) => (i === 0 ? { status: 500, body: 'upstream http://127.0.0.1/hooks/T1/B1/slack-token' } : { status: 200, body: 'ok' }));
    const discord = await startReceiver('/api/webhooks/9/discord-token', () => ({ status: 404, body: 'Unknown Webhook' }));
    const alerts = await startTestAlerts(prefix, { SLACK_WEBHOOK_URL: slack.url, DISCORD_WEBHOOK_URL: discord.url, ALERT_ATTEMPTS: '3' });
    try {
      const ticketId = await createTicket();
      await alerts.onProcessed(processedTicket({ ticket_id: ticketId }));
      const body = await eventually('three deliveries in the service-wide alert log', async () => {
        const res = await request(gw.app).get('/v2/alerts');
        expect(res.status).toBe(200);
        return res.body.deliveries.length === 3 ? res.body : undefined;
      }, { intervalMs: 100 });
      expect(body.next_before).toBeNull();
      const lines = body.deliveries as Array<{ id: string; destination: string; outcome: string; attempts: number; error: string | null; at: string }>;
      const slackLines = lines.filter((l) => l.destination === 'slack');
      // newest first: the delivered retry above the failed first attempt
      expect(slackLines).toEqual([
        expect.objectContaining({ kind: 'ticket', ticket_id: ticketId, type: 'slack', outcome: 'delivered', attempts: 2, error: null }),
        expect.objectContaining({ kind: 'ticket', ticket_id: ticketId, type: 'slack', outcome: 'retrying', attempts: 1 }),
      ]);
      expect(slackLines[1]!.error).toMatch(/^HTTP 500/);
      expect(lines.find((l) => l.destination === 'discord')).toEqual(expect.objectContaining({ outcome: 'failed', attempts: 1, incident_id: null }));
      expect(Date.parse(lines[0]!.at)).toBeGreaterThanOrEqual(Date.parse(lines[2]!.at));
      const text = JSON.stringify(body);
      for (const leaked of ['slack-token', 'discord-token', '/hooks/', '/api/webhooks/']) expect(text).not.toContain(leaked);

      const failed = await request(gw.app).get('/v2/alerts?outcome=failed');
      expectDocumented(failed);
      expect(failed.body.deliveries.map((l: { destination: string }) => l.destination)).toEqual(['discord']);
      const toSlack = await request(gw.app).get('/v2/alerts?destination=slack&kind=ticket');
      expect(toSlack.body.deliveries.map((l: { outcome: string }) => l.outcome)).toEqual(['delivered', 'retrying']);
      expect((await request(gw.app).get('/v2/alerts?kind=sla.breach')).body.deliveries).toEqual([]);

      // paging: one line at a time walks the whole log once
      const seen: string[] = [];
      let before: string | null = null;
      do {
        const page: request.Response = await request(gw.app).get(`/v2/alerts?limit=1${before ? `&before=${before}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.deliveries.map((l: { id: string }) => l.id));
        before = page.body.next_before;
      } while (before !== null && seen.length < 10);
      expect(seen).toEqual([...lines.map((l) => l.id)]);
      // the smallest position there is: nothing before it (Redis itself refuses "(0-0" as a range end)
      for (const start of ['0-0', '000-00']) {
        const none = await request(gw.app).get(`/v2/alerts?before=${start}`);
        expect(none.status).toBe(200);
        expect(none.body).toEqual({ deliveries: [], next_before: null });
      }
    } finally {
      await alerts.close();
      await Promise.all([slack.close(), discord.close()]);
    }
  });

  it('answers 400 JSON for a bad filter and needs the admin scope', async () => {
    for (const query of ['limit=0', 'limit=501', 'kind=drift-ish', 'outcome=lost', 'destination=Bad.Id', 'before=yesterday', 'colour=red']) {
      const res = await request(gw.app).get(`/v2/alerts?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid query');
      expectDocumented(res);
    }
    const authed = buildGateway(prefix, undefined, { AUTH: 'on' });
    try {
      await authed.ready();
      const agentKey = (await authed.apiKeys.create('an agent', ['agent'])).key;
      expect((await request(authed.app).get('/v2/alerts').set('Authorization', `Bearer ${agentKey}`)).status).toBe(403);
      const adminKey = (await authed.apiKeys.create('a lead', ['admin'])).key;
      const res = await request(authed.app).get('/v2/alerts').set('Authorization', `Bearer ${adminKey}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ deliveries: [], next_before: null });
    } finally {
      await authed.close();
    }
  });
});
