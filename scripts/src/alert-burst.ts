/**
 * `npm run bench:alerts`: what a burst of urgent tickets does to each destination. Starts its
 * own Redis and two loopback receivers that enforce the real limits — Slack ~1 message/s per
 * webhook (429 + Retry-After), Discord 5 per 2 s (429 + JSON retry_after) — then hands
 * BURST_TICKETS distinct urgent tickets to the worker's alert side and reports, per
 * destination, messages delivered, time taken and 429s seen.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { z } from 'zod';
import { type TicketResponse, type TriagePrediction, loadConfigOrExit, parseEnv, silentLogger, workerConfigSchema } from '@triage/shared';
import { loadAlertDestinations } from '@triage/worker/dist/alerts/alert-destinations';
import { startAlerts } from '@triage/worker/dist/alerts/alerts-runtime';
import { startRedisServer } from './embedded-redis';

const burstConfigSchema = z.object({
  BURST_TICKETS: z.coerce.number().int().min(1).max(10_000).default(100),
});

interface Limit {
  max: number;
  windowMs: number;
}

interface EmulatedReceiver {
  url: string;
  stats: { delivered: number; rateLimited: number; firstAt: number | null; lastAt: number | null };
  close(): Promise<void>;
}

/** A webhook that accepts `max` messages per sliding `windowMs` and answers 429 beyond that, the way `style` does. */
async function emulate(style: 'slack' | 'discord', limit: Limit): Promise<EmulatedReceiver> {
  const accepted: number[] = [];
  const stats: EmulatedReceiver['stats'] = { delivered: 0, rateLimited: 0, firstAt: null, lastAt: null };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now();
      while (accepted.length > 0 && accepted[0]! <= now - limit.windowMs) accepted.shift();
      if (accepted.length >= limit.max) {
        stats.rateLimited += 1;
        const waitMs = accepted[0]! + limit.windowMs - now;
        if (style === 'slack') res.writeHead(429, { 'Retry-After': String(Math.ceil(waitMs / 1000)) }).end('rate_limited');
        else res.writeHead(429, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: 'You are being rate limited.', retry_after: waitMs / 1000, global: false }));
        return;
      }
      accepted.push(now);
      stats.delivered += 1;
      stats.firstAt ??= now;
      stats.lastAt = now;
      if (style === 'slack') res.writeHead(200).end('ok');
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
  const path = style === 'slack' ? '/services/T0/B0/burst' : '/api/webhooks/1/burst';
  return { url: `http://127.0.0.1:${address.port}${path}`, stats, close: () => new Promise((r) => server.close(() => r())) };
}

/** Distinct tickets (orthogonal embeddings), so storm grouping leaves every one of them alone. */
function urgentTicket(i: number, dim: number): { ticket: TicketResponse; prediction: TriagePrediction } {
  const now = new Date().toISOString();
  const embedding = Array.from({ length: dim }, (_, k) => (k === i % dim ? 1 : 0));
  return {
    ticket: {
      ticket_id: randomUUID(),
      subject: `Burst ticket ${i + 1}`,
      body: 'Service unavailable for all users.',
      customer_id: null,
      channel: null,
      metadata: null,
      status: 'processed',
      category: 'Technical Support',
      confidence: 0.9,
      top3: [{ category: 'Technical Support', probability: 0.9 }],
      urgency_score: 0.95,
      action: 'AUTO_ROUTE',
      model_version: 'burst',
      model_used: 'encoder',
      accepted_at: now,
      processed_at: now,
      timings: { queue_ms: 0, inference_ms: 0 },
      effective_priority: null,
      sla: null,
      lease: null,
      done: null,
      correction: null,
    },
    prediction: { category: 'Technical Support', confidence: 0.9, top3: [], probabilities: [], urgency: 0.95, embedding, modelVersion: 'burst' },
  };
}

async function main(): Promise<void> {
  const { BURST_TICKETS: count } = loadConfigOrExit(() => parseEnv(burstConfigSchema));
  const redis = await startRedisServer();
  const slack = await emulate('slack', { max: 1, windowMs: 1_000 });
  const discord = await emulate('discord', { max: 5, windowMs: 2_000 });
  const config = workerConfigSchema.parse({
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'alert-burst',
    SLACK_WEBHOOK_URL: slack.url,
    DISCORD_WEBHOOK_URL: discord.url,
  });
  const alerts = await startAlerts(config, loadAlertDestinations(config), silentLogger());
  try {
    console.log(`firing ${count} urgent tickets at an emulated Slack (1 msg/s) and Discord (5 per 2 s)…`);
    const startedAt = Date.now();
    for (let i = 0; i < count; i += 1) {
      const { ticket, prediction } = urgentTicket(i, count);
      await alerts.onProcessed(ticket, prediction);
    }
    const enqueuedMs = Date.now() - startedAt;
    const receivers = { slack, discord };
    await Promise.all(
      Object.values(receivers).map(async (r) => {
        while (r.stats.delivered < count) await new Promise((res) => setTimeout(res, 100));
      }),
    );
    console.log(`enqueued ${count} × 2 alert jobs in ${enqueuedMs} ms\n`);
    console.log('destination   sent   time (first enqueue → last delivery)   429s seen   rate');
    for (const [name, r] of Object.entries(receivers)) {
      const seconds = (r.stats.lastAt! - startedAt) / 1000;
      console.log(
        `${name.padEnd(12)}  ${String(r.stats.delivered).padStart(4)}   ${seconds.toFixed(1).padStart(8)} s${' '.repeat(27)}${String(r.stats.rateLimited).padStart(6)}   ${(r.stats.delivered / seconds).toFixed(2)} msg/s`,
      );
    }
  } finally {
    await alerts.close();
    await Promise.all([slack.close(), discord.close()]);
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
