/**
 * Measures the Redis memory one ticket costs through its life (pending → processed → leased →
 * done, with its index entries), one correction in the feedback stream and one alert-log line,
 * on a private redis-server, and extrapolates to a day's volume at the retention period.
 *   npm run measure:memory            (MEASURE_TICKETS=5000 TICKETS_PER_DAY=1000000 RETENTION_DAYS=30)
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { AlertLog, TicketStore, parseEnv, queuePolicy, redisKeys, workerConfigSchema } from '@triage/shared';
import { startRedisServer } from './embedded-redis';
import { loadSampleTickets } from './ticket-samples';

const env = parseEnv(
  z.object({
    MEASURE_TICKETS: z.coerce.number().int().min(100).max(200_000).default(5_000),
    TICKETS_PER_DAY: z.coerce.number().int().positive().default(1_000_000),
    RETENTION_DAYS: z.coerce.number().positive().default(30),
  }),
);

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  try {
    const keys = redisKeys('triage');
    const store = new TicketStore(redis, keys, queuePolicy(workerConfigSchema.parse({})));
    const alertLog = new AlertLog(redis, keys);
    const { tickets, source } = loadSampleTickets(env.MEASURE_TICKETS);
    const n = tickets.length;
    const base = await usedMemory(redis);

    const ids: string[] = [];
    for (const t of tickets) {
      const id = randomUUID();
      ids.push(id);
      await store.create({ ticket_id: id, subject: t.subject, body: t.body, channel: 'email', customer_id: `c-${id.slice(0, 8)}`, accepted_at: new Date().toISOString() });
      const token = randomUUID();
      await store.startProcessing(id, token, 10_000);
      await store.commitResult(id, token, {
        category: 'Technical Support',
        confidence: 0.4123456789,
        top3: [
          { category: 'Technical Support', probability: 0.4123456789 },
          { category: 'Product Support', probability: 0.2123456789 },
          { category: 'IT Support', probability: 0.1123456789 },
        ],
        urgency_score: 0.5123456789,
        action: 'ESCALATE',
        model_version: 'sha256:17bee08f8605958c',
        model_used: 'encoder',
        processed_at: new Date().toISOString(),
        queue_ms: 12,
        inference_ms: 14.2,
      });
    }
    const processed = await usedMemory(redis);

    for (const _ of ids) await store.leaseNext('agent-007');
    for (const id of ids) await store.ack(id, 'agent-007');
    const done = await usedMemory(redis);

    const sample = ids.slice(0, 200);
    const usages = await Promise.all(sample.map((id) => redis.memory('USAGE', keys.ticket(id), 'SAMPLES', '0')));
    const hashBytes = usages.reduce<number>((a, b) => a + (b ?? 0), 0) / sample.length;

    // One correction per ticket (an upper bound: most tickets get none), with the text snapshot.
    const beforeFeedback = await usedMemory(redis);
    for (const [i, id] of ids.entries()) {
      const ticket = (await store.get(id))!;
      await redis.xadd(keys.feedback, '*', 'ticket_id', id, 'agent_id', 'agent-007', 'at', new Date().toISOString(), 'queue', 'IT Support', 'priority', 'high',
        'predicted_queue', 'Technical Support', 'predicted_urgency', '0.5123456789', 'model_version', 'sha256:17bee08f8605958c',
        'subject', ticket.subject ?? '', 'body', tickets[i]!.body);
    }
    const feedbackBytes = ((await usedMemory(redis)) - beforeFeedback) / n;

    const beforeAlerts = await usedMemory(redis);
    for (const id of ids) await alertLog.open(id, 'slack', 'slack', { status: 'queued' });
    const alertBytes = ((await usedMemory(redis)) - beforeAlerts) / n;

    const perTicket = (done - base) / n;
    const stored = env.TICKETS_PER_DAY * env.RETENTION_DAYS;
    const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
    const avgBody = tickets.reduce((a, t) => a + Buffer.byteLength(t.body) + Buffer.byteLength(t.subject ?? ''), 0) / n;
    console.log(`tickets measured: ${n} from ${source}; average subject+body ${avgBody.toFixed(0)} bytes`);
    console.log(`per ticket, processed and waiting (hash + queue/SLA/retention entries): ${((processed - base) / n).toFixed(0)} bytes`);
    console.log(`per ticket, done (hash + retention entry):                            ${perTicket.toFixed(0)} bytes (MEMORY USAGE of the hash alone: ${hashBytes.toFixed(0)})`);
    console.log(`per correction in the feedback stream:                                ${feedbackBytes.toFixed(0)} bytes`);
    console.log(`per alert-log line:                                                   ${alertBytes.toFixed(0)} bytes`);
    console.log(`${env.TICKETS_PER_DAY} tickets/day × ${env.RETENTION_DAYS} days = ${stored} records → ${gib(stored * perTicket)} of tickets`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
