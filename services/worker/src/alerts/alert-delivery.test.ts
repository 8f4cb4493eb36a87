import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type RequestListener, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertLog, JobName, redisKeys } from '@triage/shared';
import { capturingLogger, processedTicket, startTestAlerts } from '../../../../tests/support/alerts';
import { eventually, plainRedis, testRedisUrl, uniquePrefix } from '../../../../tests/support/test-redis';
import { type WebhookReceiver, ok, startReceiver } from '../../../../tests/support/webhook-receiver';
import type { AlertsRuntime } from './alerts-runtime';
import { type WebhookHttp, createWebhookHttp, sendWebhook } from './webhook-delivery';
import type { WebhookRequest } from './webhook-request';

jest.setTimeout(120_000);

const redis = plainRedis();
const receivers: WebhookReceiver[] = [];
const runtimes: AlertsRuntime[] = [];
const children: ChildProcess[] = [];
const closers: (() => unknown)[] = [];

async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

async function alerts(prefix: string, env: Record<string, string>, logger = capturingLogger().logger) {
  const runtime = await startTestAlerts(prefix, env, logger);
  runtimes.push(runtime);
  return runtime;
}

const logOf = (prefix: string) => new AlertLog(redis, redisKeys(prefix));

const alertsTestConfigEnv = (prefix: string) => ({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, ALERT_BACKOFF_MS: '100', LOG_LEVEL: 'error' });

/** A separate worker process running the compiled alert side; resolves once its workers are up. */
async function alertsProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = fork(join(__dirname, '..', '..', '..', '..', 'tests', 'support', 'alerts-process.js'), [], { env, stdio: 'inherit' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`alerts process exited with ${code}`)));
  });
  return child;
}

async function jobState(runtime: AlertsRuntime, destination: string, jobId: string) {
  return (await runtime.queues.get(destination)!.getJob(jobId))?.getState();
}

/** Waits until the job reached a final state and returns it. */
const settled = (runtime: AlertsRuntime, destination: string, jobId: string) =>
  eventually(`alert job ${jobId} completed or failed`, async () => {
    const state = await jobState(runtime, destination, jobId);
    return state === 'completed' || state === 'failed' ? state : undefined;
  });

/** A loopback server for answers the webhook receiver cannot give, such as a body that never ends. */
async function rawServer(handler: RequestListener) {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  closers.push(close);
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks/raw`, sockets };
}

/** Answers 200 and then streams body bytes for as long as the client reads them. */
const endlessBody: RequestListener = (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200);
    const pump = () => {
      while (!res.destroyed && res.write(Buffer.alloc(16 * 1024, 'x')));
    };
    res.on('drain', pump);
    pump();
  });
};

function transport(): WebhookHttp {
  const http = createWebhookHttp();
  closers.push(() => http.close());
  return http;
}

const post = (url: string, body = '{"text":"hi"}'): WebhookRequest => ({ method: 'POST', url, body, headers: { 'Content-Type': 'application/json' } });

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => redis.quit());

describe('alert delivery', () => {
  it('delivers once per ticket and destination, however often the ticket is processed', async () => {
    const slack = await receiver();
    const discord = await receiver('/api/webhooks/1/tok', () => ({ status: 204 }));
    const prefix = uniquePrefix('alert-once');
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: slack.url, DISCORD_WEBHOOK_URL: discord.url });
    const ticket = processedTicket();

    await Promise.all([runtime.onProcessed(ticket), runtime.onProcessed(ticket)]);
    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('completed');
    expect(await settled(runtime, 'discord', `${ticket.ticket_id}.discord`)).toBe('completed');
    await runtime.onProcessed(ticket);

    expect(slack.requests).toHaveLength(1);
    expect(discord.requests).toHaveLength(1);
    expect(JSON.parse(slack.requests[0]!.body)).toMatchObject({ text: expect.stringContaining('Production database'), blocks: expect.any(Array) });
    expect(JSON.parse(discord.requests[0]!.body).embeds[0]).toMatchObject({ title: 'Urgent: Production database unreachable' });
    const entries = await logOf(prefix).list(ticket.ticket_id);
    expect(entries.map((e) => [e.destination, e.status, e.attempts])).toEqual([
      ['discord', 'delivered', 1],
      ['slack', 'delivered', 1],
    ]);
    expect(entries[0]!.delivered_at).not.toBeNull();
    const counts = await runtime.queues.get('slack')!.getJobCounts('waiting', 'delayed', 'active', 'completed');
    expect(counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 1 });

    // Once the completed job has aged out, a re-add runs again, and the delivery log stops it.
    await runtime.queues.get('slack')!.remove(`${ticket.ticket_id}.slack`);
    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('completed');
    expect((await runtime.queues.get('slack')!.getJob(`${ticket.ticket_id}.slack`))!.returnvalue).toEqual({ outcome: 'already-delivered' });
    expect(slack.requests).toHaveLength(1);
  });

  it('retries 5xx and timeouts with backoff and delivers exactly once', async () => {
    const replies = ['hang', { status: 500, body: 'boom' }, { status: 503 }, { status: 200, body: 'ok' }] as const;
    const hook = await receiver(undefined, (_req, i) => replies[Math.min(i, replies.length - 1)]!);
    const prefix = uniquePrefix('alert-retry');
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_TIMEOUT_MS: '500' });
    const ticket = processedTicket();

    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('completed');
    expect(hook.requests).toHaveLength(4);
    expect(hook.delivered()).toHaveLength(1);
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'delivered', attempts: 4, last_error: null });
  });

  it('reports retrying with the reason, then failed after the last attempt', async () => {
    const hook = await receiver(undefined, () => ({ status: 502, body: 'bad gateway' }));
    const prefix = uniquePrefix('alert-exhaust');
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_ATTEMPTS: '3' });
    const ticket = processedTicket();

    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('failed');
    expect(hook.requests).toHaveLength(3);
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'failed', attempts: 3, last_error: 'HTTP 502: bad gateway' });
  });

  it('fails a permanent 4xx at once with the reason and never retries it', async () => {
    const hook = await receiver(undefined, () => ({ status: 404, body: 'no_service' }));
    const prefix = uniquePrefix('alert-4xx');
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_ATTEMPTS: '5' });
    const ticket = processedTicket();

    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('failed');
    const job = await runtime.queues.get('slack')!.getJob(`${ticket.ticket_id}.slack`);
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toBe('HTTP 404: no_service');
    expect(hook.requests).toHaveLength(1);
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'failed', attempts: 1, last_error: 'HTTP 404: no_service' });
  });

  it("honours Slack's Retry-After header without spending an attempt", async () => {
    const hook = await receiver(undefined, (_req, i) => (i === 0 ? { status: 429, headers: { 'Retry-After': '2' }, body: 'rate_limited' } : { status: 200 }));
    const prefix = uniquePrefix('alert-429-slack');
    // One attempt: if the 429 spent it, the job would fail instead of being delivered.
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_ATTEMPTS: '1' });
    const ticket = processedTicket();

    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('completed');
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.receivedAt - hook.requests[0]!.receivedAt).toBeGreaterThanOrEqual(1900);
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it("honours Discord's retry_after body field for the whole destination queue", async () => {
    const hook = await receiver('/api/webhooks/1/tok', (_req, i) =>
      i === 0 ? { status: 429, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'You are being rate limited.', retry_after: 1.5, global: false }) } : { status: 204 },
    );
    const prefix = uniquePrefix('alert-429-discord');
    const runtime = await alerts(prefix, { DISCORD_WEBHOOK_URL: hook.url, ALERT_ATTEMPTS: '1' });
    const [a, b] = [processedTicket(), processedTicket()];

    await runtime.onProcessed(a);
    await eventually('the first delivery attempt reached the receiver', async () => (hook.requests.length >= 1 ? true : undefined));
    await runtime.onProcessed(b);
    expect(await settled(runtime, 'discord', `${a.ticket_id}.discord`)).toBe('completed');
    expect(await settled(runtime, 'discord', `${b.ticket_id}.discord`)).toBe('completed');
    expect(hook.requests).toHaveLength(3);
    // Nothing reached the receiver during the pause it asked for.
    expect(hook.requests[1]!.receivedAt - hook.requests[0]!.receivedAt).toBeGreaterThanOrEqual(1400);
    expect(hook.delivered()).toHaveLength(2);
  });

  it('survives a worker stopped mid-retry: the restarted one delivers once', async () => {
    const hook = await receiver(undefined, () => ({ status: 500 }));
    const prefix = uniquePrefix('alert-restart');
    // A long backoff keeps the job parked in Redis while the first worker goes away.
    const first = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_BACKOFF_MS: '1500' });
    const ticket = processedTicket();
    await first.onProcessed(ticket);
    await eventually('the first delivery attempt reached the receiver', async () => (hook.requests.length >= 1 ? true : undefined));
    await first.close();

    hook.respondWith(ok);
    const second = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url });
    // The restarted worker's triage side reprocesses the ticket too: still one job, one post.
    await second.onProcessed(ticket);
    expect(await settled(second, 'slack', `${ticket.ticket_id}.slack`)).toBe('completed');
    await second.onProcessed(ticket);
    expect(hook.delivered()).toHaveLength(1);
    expect(await second.queues.get('slack')!.getJobCounts('waiting', 'delayed', 'completed')).toEqual({ waiting: 0, delayed: 0, completed: 1 });
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('counts the attempt of a worker SIGKILLed mid-request, and the resend carries the same delivery id', async () => {
    // The first request never gets an answer: the process dies while it is in flight.
    const hook = await receiver(undefined, (_req, i) => (i === 0 ? 'hang' : { status: 200 }));
    const prefix = uniquePrefix('alert-kill');
    const secret = 'a-very-long-shared-secret-0123456789';
    // Short job locks: the replacement finds the job stalled within about two seconds, not a minute.
    const locks = { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500' };
    const destination = { WEBHOOK_URL: hook.url, WEBHOOK_SECRET: secret };
    const env = { ...process.env, ...alertsTestConfigEnv(prefix), ...destination, ...locks, ALERT_TIMEOUT_MS: '60000' };
    const first = await alertsProcess(env);
    const runtime = await alerts(prefix, destination);
    await runtime.workers.get('webhook')!.close(); // this one only enqueues, like a triage-only worker
    const ticket = processedTicket();
    await runtime.onProcessed(ticket);
    await eventually('the first delivery attempt reached the receiver', async () => (hook.requests.length >= 1 ? true : undefined));
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    const second = await alertsProcess(env);
    try {
      await runtime.onProcessed(ticket);
      const entry = await eventually('the webhook alert delivered by the second worker', async () => {
        const e = await logOf(prefix).get(ticket.ticket_id, 'webhook');
        return e?.status === 'delivered' ? e : undefined;
      }, { intervalMs: 100 });
      // Both requests were made, and the log says so (it used to say 1).
      expect(entry.attempts).toBe(2);
      expect(hook.requests).toHaveLength(2);
      expect(hook.delivered()).toHaveLength(1);
      const ids = hook.requests.map((r) => r.headers['x-triage-delivery-id']);
      expect(ids).toEqual([`${ticket.ticket_id}.webhook`, `${ticket.ticket_id}.webhook`]);
      expect(hook.requests.map((r) => JSON.parse(r.body).delivery_id)).toEqual(ids);
    } finally {
      second.kill('SIGTERM');
    }
  });

  it('fails malformed jobs and unknown destinations permanently with the reason, sending nothing', async () => {
    const hook = await receiver();
    const prefix = uniquePrefix('alert-bad');
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: hook.url, ALERT_ATTEMPTS: '5' });
    const queue = runtime.queues.get('slack')!;
    const ticket = processedTicket();
    await queue.add(JobName.Alert, { kind: 'ticket', destination_id: 'slack', ticket: { ticket_id: 'nope' } } as never, { jobId: 'bad', attempts: 5 });
    await queue.add(JobName.Alert, { kind: 'incident', destination_id: 'elsewhere', incident_id: ticket.ticket_id, phase: 'open' }, { jobId: 'unknown', attempts: 5 });

    expect(await settled(runtime, 'slack', 'bad')).toBe('failed');
    expect(await settled(runtime, 'slack', 'unknown')).toBe('failed');
    const [bad, unknown] = await Promise.all([queue.getJob('bad'), queue.getJob('unknown')]);
    expect(bad!.failedReason).toMatch(/^invalid alert job payload: ticket\.ticket_id/);
    expect(unknown!.failedReason).toBe('alert destination "elsewhere" is not configured on this worker');
    expect([bad!.attemptsMade, unknown!.attemptsMade]).toEqual([1, 1]);
    expect(hook.requests).toHaveLength(0);
  });

  it('sends nothing below the threshold and respects per-destination thresholds and queue filters', async () => {
    const slack = await receiver();
    const billing = await receiver('/hooks/billing');
    const prefix = uniquePrefix('alert-threshold');
    const config = join(mkdtempSync(join(tmpdir(), 'alerts-')), 'alerts.yaml');
    writeFileSync(config, `destinations:\n  - { id: billing, type: slack, url: "${billing.url}", threshold: 0.5, queues: [Billing and Payments] }\n`);
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: slack.url, ALERTS_CONFIG: config, ALERT_THRESHOLD: '0.8' });

    const calm = processedTicket({ urgency_score: 0.8 }); // not above 0.8
    const billingOnly = processedTicket({ urgency_score: 0.6, category: 'Billing and Payments' });
    const technical = processedTicket({ urgency_score: 0.95 });
    for (const t of [calm, billingOnly, technical]) await runtime.onProcessed(t);

    expect(await settled(runtime, 'slack', `${technical.ticket_id}.slack`)).toBe('completed');
    expect(await settled(runtime, 'billing', `${billingOnly.ticket_id}.billing`)).toBe('completed');
    expect(await logOf(prefix).list(calm.ticket_id)).toEqual([]);
    expect((await logOf(prefix).list(billingOnly.ticket_id)).map((e) => e.destination)).toEqual(['billing']);
    expect((await logOf(prefix).list(technical.ticket_id)).map((e) => e.destination)).toEqual(['slack']);
    expect(slack.requests).toHaveLength(1);
    expect(billing.requests).toHaveLength(1);
    const all = await Promise.all([...runtime.queues.values()].map((q) => q.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')));
    expect(all.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("follows the served model's alert_threshold where no threshold is configured, so a promotion changes it", async () => {
    const slack = await receiver();
    const prefix = uniquePrefix('alert-model-threshold');
    let served = 0.9;
    const runtime = await startTestAlerts(prefix, { SLACK_WEBHOOK_URL: slack.url }, capturingLogger().logger, () => served);
    runtimes.push(runtime);
    const before = processedTicket({ urgency_score: 0.7 });
    await runtime.onProcessed(before);
    served = 0.6; // a version with a lower threshold was promoted
    const after = processedTicket({ urgency_score: 0.7 });
    await runtime.onProcessed(after);
    expect(await settled(runtime, 'slack', `${after.ticket_id}.slack`)).toBe('completed');
    expect(await logOf(prefix).list(before.ticket_id)).toEqual([]);
    expect(slack.requests).toHaveLength(1);
  });

  it('signs generic deliveries and keeps webhook URLs and secrets out of logs and the delivery log', async () => {
    const secret = 'generic-secret-0123456789abcdef';
    const hook = await receiver('/triage/s3cr3t-path');
    const dead = await receiver('/hooks/T999/B999/dead-token');
    const deadUrl = dead.url;
    await dead.close(); // connection refused from now on
    const prefix = uniquePrefix('alert-redact');
    const { logger, lines } = capturingLogger();
    const runtime = await alerts(prefix, { WEBHOOK_URL: hook.url, WEBHOOK_SECRET: secret, SLACK_WEBHOOK_URL: deadUrl, ALERT_ATTEMPTS: '2' }, logger);
    const ticket = processedTicket();

    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'webhook', `${ticket.ticket_id}.webhook`)).toBe('completed');
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('failed');

    const req = hook.requests[0]!;
    expect(req.headers['x-triage-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(req.headers['x-triage-timestamp']).toMatch(/^\d+$/);
    const entry = await logOf(prefix).get(ticket.ticket_id, 'slack');
    expect(entry).toMatchObject({ status: 'failed', attempts: 2, last_error: expect.stringContaining('ECONNREFUSED') });
    const everything = `${lines.join('\n')}\n${JSON.stringify(await logOf(prefix).list(ticket.ticket_id))}`;
    expect(lines.length).toBeGreaterThan(0);
    for (const leaked of [secret, 'dead-token', 's3cr3t-path', 'T999/B999']) expect(everything).not.toContain(leaked);
  });
});

describe('webhook transport', () => {
  it('sends the method, headers and body with its byte length', async () => {
    const hook = await receiver();
    const http = transport();
    const body = JSON.stringify({ text: 'Störung – ünïcode' });

    expect(await sendWebhook(http, { method: 'PATCH', url: hook.url, body, headers: { 'X-Custom': 'yes' } }, 2_000)).toEqual({ kind: 'delivered', status: 200, body: 'ok' });
    expect(await sendWebhook(http, post(hook.url), 2_000)).toMatchObject({ kind: 'delivered' });

    const [first] = hook.requests;
    expect(first).toMatchObject({ method: 'PATCH', url: '/hooks/T000/B000/s3cr3t-token', body });
    expect(first!.headers).toMatchObject({ 'x-custom': 'yes', 'content-length': String(Buffer.byteLength(body)) });
  });

  it('reuses the connection to a receiver', async () => {
    const server = await rawServer((req, res) => req.resume().on('end', () => res.end('ok')));
    const http = transport();
    for (let i = 0; i < 3; i++) expect(await sendWebhook(http, post(server.url), 2_000)).toMatchObject({ kind: 'delivered' });
    expect(server.sockets.size).toBe(1);
  });

  it('does not follow a redirect: a 3xx fails permanently and the target hears nothing', async () => {
    const target = await receiver('/elsewhere');
    const hook = await receiver(undefined, () => ({ status: 302, headers: { Location: target.url }, body: 'Found' }));

    expect(await sendWebhook(transport(), post(hook.url), 2_000)).toEqual({ kind: 'permanent', reason: 'HTTP 302: Found' });
    expect(hook.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('stops reading an answer over 64 KiB and retries, so a worker never waits on an endless body', async () => {
    const server = await rawServer(endlessBody);
    const prefix = uniquePrefix('alert-endless');
    // Only the size cap can end this exchange before the timeout.
    const runtime = await alerts(prefix, { SLACK_WEBHOOK_URL: server.url, ALERT_ATTEMPTS: '2', ALERT_TIMEOUT_MS: '60000' });
    const ticket = processedTicket();

    const started = Date.now();
    await runtime.onProcessed(ticket);
    expect(await settled(runtime, 'slack', `${ticket.ticket_id}.slack`)).toBe('failed');
    expect(Date.now() - started).toBeLessThan(30_000);
    const reason = 'network error: ERR_RESPONSE_TOO_LARGE: response body over 65536 bytes';
    expect(await logOf(prefix).get(ticket.ticket_id, 'slack')).toMatchObject({ status: 'failed', attempts: 2, last_error: reason });
    // The connection was dropped, not left half-read.
    await eventually('the receiver saw its connections close', async () => (server.sockets.size === 0 ? true : undefined));
  });

  it('retries a receiver that never answers once the timeout has passed', async () => {
    const hook = await receiver(undefined, () => 'hang');
    const started = Date.now();
    expect(await sendWebhook(transport(), post(hook.url), 300)).toEqual({ kind: 'retryable', reason: 'network error: ETIMEDOUT: no complete answer within 300 ms' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('bounds the body by the timeout too: headers alone do not make a delivery', async () => {
    const server = await rawServer((req, res) => req.resume().on('end', () => res.writeHead(200).write('partial')));
    expect(await sendWebhook(transport(), post(server.url), 300)).toEqual({ kind: 'retryable', reason: 'network error: ETIMEDOUT: no complete answer within 300 ms' });
  });

  it('retries a refused connection and names the error code', async () => {
    const gone = await receiver();
    await gone.close();
    const outcome = await sendWebhook(transport(), post(gone.url), 2_000);
    expect(outcome).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/^network error: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+$/) });
  });

  it('speaks TLS to an https URL', async () => {
    // A plain-HTTP port cannot complete a TLS handshake, so reaching it over https must fail.
    const hook = await receiver();
    const outcome = await sendWebhook(transport(), post(hook.url.replace(/^http:/, 'https:')), 2_000);
    expect(outcome).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/^network error: \S+: /) });
    expect(hook.requests).toHaveLength(0);
  });
});
