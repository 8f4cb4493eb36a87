import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriftAlert, TicketAlert } from '@triage/shared';
import type { IncidentView } from './alert-content';
import type { AlertDestination } from './alert-destinations';
import { discordDriftMessage, discordIncidentMessage, discordTicketMessage } from './discord.formatter';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './generic.formatter';
import { createRedactor } from './redact';
import { slackDriftMessage, slackIncidentMessage, slackTicketMessage } from './slack.formatter';
import { classifyResponse, retryAfterMs } from './webhook-delivery';
import { buildWebhookRequest } from './webhook-request';

const ticket: TicketAlert = {
  ticket_id: '0b6f6a1e-3c1d-4d7a-9a53-0f2d8e6c1b11',
  subject: 'Checkout <broken> & payments failing',
  excerpt: 'Since 09:00 every card payment fails.\n<!channel> please look @everyone',
  category: 'Billing and Payments',
  confidence: 0.87,
  urgency_score: 0.96,
  action: 'AUTO_ROUTE',
  processed_at: '2026-11-22T09:05:00.000Z',
};
const ctx = { publicUrl: 'https://triage.example.com/' };
const incident: IncidentView = {
  incident_id: '6f1b2d6e-2a4b-4c1e-8e8f-1b2c3d4e5f60',
  phase: 'open',
  count: 30,
  first_at: '2026-11-22T09:00:00.000Z',
  last_at: '2026-11-22T09:03:00.000Z',
  tickets: [{ ticket_id: ticket.ticket_id, label: 'Checkout down' }],
};

describe('Slack message', () => {
  it('is Block Kit with a plain-text fallback, every field, a link, and escaped ticket text', () => {
    const msg = slackTicketMessage(ticket, ctx);
    expect(msg.text).toContain('Checkout &lt;broken&gt; &amp; payments failing');
    expect(msg.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    const [header, fields, body, context] = msg.blocks as [any, any, any, any];
    expect(header.text).toMatchObject({ type: 'plain_text' });
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    const fieldText = fields.fields.map((f: { text: string }) => f.text).join('\n');
    expect(fieldText).toContain('Billing and Payments');
    expect(fieldText).toContain('█████████'); // 0.96 → ten cells, rounded
    expect(fieldText).toContain('0.96');
    expect(fieldText).toContain('87%');
    expect(fieldText).toContain('AUTO_ROUTE');
    // No live <!channel> ping or link markup can come from a customer's words.
    expect(body.text.text).toContain('&lt;!channel&gt;');
    expect(body.text.text).not.toContain('<!channel>');
    expect(context.elements[0].text).toContain(`<https://triage.example.com/v2/tickets/${ticket.ticket_id}|open ticket>`);
  });

  it("escapes the customer's subject in the top-level text: no @channel ping, no spoofed link", () => {
    const hostile = { ...ticket, subject: '<!channel> refund now <https://evil.example|https://bank.example>' };
    const { text } = slackTicketMessage(hostile, ctx);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toMatch(/<https?:/);
    expect(text).toContain('&lt;!channel&gt; refund now &lt;https://evil.example|https://bank.example&gt;');
  });

  it('has no link without PUBLIC_URL, and an incident lists its tickets', () => {
    const msg = slackTicketMessage(ticket, {});
    expect(JSON.stringify(msg)).not.toContain('/v2/tickets/');
    const inc = slackIncidentMessage(incident, {});
    expect(inc.text).toContain('Major incident: 30 similar urgent tickets');
    expect(JSON.stringify(inc.blocks)).toContain('and 29 more');
  });
});

describe('Discord message', () => {
  it('is one embed with title, description, fields and a colour by urgency, and cannot ping', () => {
    const msg = discordTicketMessage(ticket, ctx);
    expect(msg.allowed_mentions).toEqual({ parse: [] });
    expect(msg.embeds).toHaveLength(1);
    const embed = msg.embeds[0]!;
    expect(embed.title).toBe('Urgent: Checkout <broken> & payments failing');
    expect(embed.description).toBe('Since 09:00 every card payment fails.\n\\<!channel\\> please look \\@everyone');
    expect(embed.url).toBe(`https://triage.example.com/v2/tickets/${ticket.ticket_id}`);
    expect(embed.fields.map((f) => f.name)).toEqual(['Queue', 'Urgency', 'Confidence', 'Action', 'Ticket']);
    expect(Number.isInteger(embed.color)).toBe(true);
    expect(discordTicketMessage({ ...ticket, urgency_score: 0.96 }, ctx).embeds[0]!.color).not.toBe(
      discordTicketMessage({ ...ticket, urgency_score: 0.82 }, ctx).embeds[0]!.color,
    );
    expect(discordIncidentMessage(incident, ctx).embeds[0]!.fields[0]).toEqual({ name: 'Tickets', value: '30', inline: true });
  });

  it("escapes link labels and the excerpt, so a customer's words cannot become a masked link", () => {
    const hostile = { ...incident, tickets: [{ ticket_id: ticket.ticket_id, label: 'Reset here](https://evil.example) [x' }] };
    const description = discordIncidentMessage(hostile, ctx).embeds[0]!.description;
    expect(description.split('\n')[0]).toBe(`• [Reset here\\]\\(https://evil.example\\) \\[x](https://triage.example.com/v2/tickets/${ticket.ticket_id})`);
    const excerpt = discordTicketMessage({ ...ticket, excerpt: 'see [your invoice](https://evil.example)' }, ctx).embeds[0]!.description;
    expect(excerpt).toBe('see \\[your invoice\\]\\(https://evil.example\\)');
  });

  it('posts incidents with wait=true and edits them in place afterwards', () => {
    const dest: AlertDestination = {
      id: 'discord',
      type: 'discord',
      url: 'https://discord.com/api/webhooks/123/tok',
      threshold: 0.8,
      queues: null,
      rateLimit: { max: 5, durationMs: 2000 },
    };
    const post = buildWebhookRequest(dest, { kind: 'incident', incident }, ctx);
    expect(post).toMatchObject({ method: 'POST', url: 'https://discord.com/api/webhooks/123/tok?wait=true' });
    const edit = buildWebhookRequest(dest, { kind: 'incident', incident: { ...incident, phase: 'update' } }, ctx, '998877');
    expect(edit).toMatchObject({ method: 'PATCH', url: 'https://discord.com/api/webhooks/123/tok/messages/998877' });
  });

  it('gives Discord posts a stable nonce per message, so Discord can drop a resend', () => {
    const dest: AlertDestination = {
      id: 'discord',
      type: 'discord',
      url: 'https://discord.com/api/webhooks/123/tok',
      threshold: 0.8,
      queues: null,
      rateLimit: { max: 5, durationMs: 2000 },
    };
    const nonceOf = (content: Parameters<typeof buildWebhookRequest>[1]) => JSON.parse(buildWebhookRequest(dest, content, ctx).body) as { nonce: string; enforce_nonce: boolean };
    const first = nonceOf({ kind: 'ticket', ticket });
    expect(first).toMatchObject({ nonce: expect.stringMatching(/^[0-9a-f]{25}$/), enforce_nonce: true });
    expect(nonceOf({ kind: 'ticket', ticket }).nonce).toBe(first.nonce);
    expect(nonceOf({ kind: 'ticket', ticket: { ...ticket, ticket_id: '00000000-0000-4000-8000-000000000001' } }).nonce).not.toBe(first.nonce);
    expect(nonceOf({ kind: 'incident', incident }).nonce).not.toBe(first.nonce);
  });
});

/** The README's receiver recipe, run as written. */
function readmeVerifier(): (rawBody: string, headers: Record<string, string>, secret: string, nowMs?: number) => boolean {
  const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
  const match = /<!-- verify-signature -->\s*```js\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no <!-- verify-signature --> js block');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the README's recipe, run as written
  return new Function('require', `${match[1]}\nreturn verifyTriageSignature;`)(require);
}

describe('drift alert', () => {
  const drift: DriftAlert = {
    signal: 'predicted_queue',
    psi: 0.734,
    episode: 3,
    window: '24h',
    n: 812,
    model_version: 'sha256:e228a397521897bd',
    detected_at: '2026-11-22T09:05:00.000Z',
    // Queue names come from a model's config.json: still escaped like any text.
    bins: [{ bin: 'Billing <and> *Payments*', reference: 0.12, current: 0.48 }],
  };

  it('names the signal, the PSI, the window and what moved, in Slack and Discord', () => {
    const slack = slackDriftMessage(drift);
    expect(slack.text).toBe('Model drift: predicted queues PSI 0.73 over the last 24h (model sha256:e228a397521897bd, 812 tickets)');
    expect(JSON.stringify(slack.blocks)).toContain('Billing &lt;and&gt; *Payments*: 12% → 48%');
    const [embed] = discordDriftMessage(drift).embeds;
    expect(embed!.title).toBe('Model drift: predicted queues PSI 0.73 over the last 24h');
    expect(embed!.fields).toContainEqual({ name: 'Moved most (training → now)', value: 'Billing \\<and\\> \\*Payments\\*: 12% → 48%', inline: false });
  });

  it('has one delivery id per signal episode and destination, in the generic body and the Discord nonce', () => {
    const dest: AlertDestination = { id: 'hook', type: 'generic', url: 'https://example.com/h', secret: 'x'.repeat(32), threshold: 0.8, queues: null, rateLimit: { max: 1, durationMs: 1 } };
    const request = buildWebhookRequest(dest, { kind: 'drift', drift }, ctx);
    expect(JSON.parse(request.body)).toEqual({ delivery_id: 'drift.predicted_queue.3.hook', event: 'drift', drift });
    const discord = (episode: number) => JSON.parse(buildWebhookRequest({ ...dest, type: 'discord' }, { kind: 'drift', drift: { ...drift, episode } }, ctx).body).nonce;
    expect(discord(3)).toBe(discord(3));
    expect(discord(4)).not.toBe(discord(3));
  });
});

describe('generic webhook signature', () => {
  const dest: AlertDestination = {
    id: 'webhook',
    type: 'generic',
    url: 'https://receiver.example.com/triage',
    secret: 'a-very-long-shared-secret-0123456789',
    threshold: 0.8,
    queues: null,
    rateLimit: { max: 10, durationMs: 1000 },
  };

  it('verifies with the README recipe and fails for a tampered body, a wrong secret or an old timestamp', () => {
    const verify = readmeVerifier();
    const req = buildWebhookRequest(dest, { kind: 'ticket', ticket }, ctx);
    const headers = { 'x-triage-signature': req.headers[SIGNATURE_HEADER]!, 'x-triage-timestamp': req.headers[TIMESTAMP_HEADER]! };
    expect(headers['x-triage-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(req.body)).toMatchObject({ event: 'ticket.urgent', ticket: { ticket_id: ticket.ticket_id } });

    expect(verify(req.body, headers, dest.secret!)).toBe(true);
    expect(verify(req.body.replace('0.96', '0.10'), headers, dest.secret!)).toBe(false);
    expect(verify(req.body, headers, 'another-secret-of-enough-length')).toBe(false);
    const sixMinutesLater = Number(headers['x-triage-timestamp']) * 1000 + 6 * 60_000;
    expect(verify(req.body, headers, dest.secret!, sixMinutesLater)).toBe(false);
  });
});

describe('response classification', () => {
  const res = (status: number, data = '', headers: Record<string, string> = {}) => ({ status, data, headers });

  it('retries 5xx and 408, rate-limits 429, fails other 4xx permanently with the reason', () => {
    expect(classifyResponse(res(204)).kind).toBe('delivered');
    expect(classifyResponse(res(503)).kind).toBe('retryable');
    expect(classifyResponse(res(408)).kind).toBe('retryable');
    expect(classifyResponse(res(429, '', { 'retry-after': '3' }))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 3000 });
    expect(classifyResponse(res(404, 'no_service'))).toEqual({ kind: 'permanent', reason: 'HTTP 404: no_service' });
  });

  it("reads Discord's retry_after body field before the header", () => {
    expect(retryAfterMs(res(429, JSON.stringify({ retry_after: 1.25, global: false }), { 'retry-after': '2' }))).toBe(1250);
    expect(retryAfterMs(res(429, '', { 'retry-after': 'Sun, 22 Nov 2026 10:00:05 GMT' }), Date.parse('Sun, 22 Nov 2026 10:00:00 GMT'))).toBe(5000);
    expect(retryAfterMs(res(429, 'not json'))).toBe(1000);
    expect(retryAfterMs(res(429, '', { 'retry-after': '0' }))).toBe(250);
    expect(retryAfterMs(res(429, '', { 'retry-after': '86400' }))).toBe(15 * 60_000);
  });
});

describe('redaction', () => {
  it('removes configured URLs and secrets and any other URL', () => {
    const redact = createRedactor([
      { id: 'w', type: 'generic', url: 'https://hooks.example.com/T1/B2/xyz', secret: 'sekrit-sekrit-sekrit', threshold: 0.8, queues: null, rateLimit: { max: 1, durationMs: 1 } },
    ]);
    const out = redact('POST https://hooks.example.com/T1/B2/xyz failed; key sekrit-sekrit-sekrit; see http://other.example/path?q=1');
    expect(out).not.toMatch(/hooks\.example|sekrit|other\.example/);
  });
});
