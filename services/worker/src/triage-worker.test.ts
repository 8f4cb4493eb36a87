import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import request from 'supertest';
import {
  JobName,
  type ModelConfig,
  QueueName,
  type TicketResponse,
  TicketStore,
  connectRedis,
  queuePolicy,
  redisKeys,
  silentLogger,
  ticketResponseSchema,
} from '@triage/shared';
import { loadSampleTickets } from '../../../scripts/src/ticket-samples';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { eventually, uniquePrefix } from '../../../tests/support/test-redis';
import { modelDir, startTestWorker } from '../../../tests/support/worker';
import { createTriageProcessor } from './processors/triage.processor';
import type { TriageWorkerHandle } from './triage-worker';

const modelConfig = JSON.parse(readFileSync(join(modelDir(), 'config.json'), 'utf8')) as ModelConfig;

let gw: TestGateway;
const workers: TriageWorkerHandle[] = [];

beforeEach(async () => {
  gw = buildGateway(uniquePrefix('wk'));
  await gw.ready();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await gw.close();
});

async function worker(env: Record<string, string> = {}): Promise<TriageWorkerHandle> {
  const handle = await startTestWorker(gw.config.REDIS_PREFIX, env);
  workers.push(handle);
  return handle;
}

async function submit(payload: { subject?: string; body: string }): Promise<string> {
  const res = await request(gw.app).post('/v2/tickets').send(payload);
  expect(res.status).toBe(202);
  return res.body.ticket_id as string;
}

/** Waits until the ticket leaves pending/processing and returns it. */
const settled = (id: string) =>
  eventually(`ticket ${id} processed or failed`, async () => {
    const t = await gw.store.get(id);
    return t && (t.status === 'processed' || t.status === 'failed') ? t : undefined;
  });

function expectTriaged(ticket: TicketResponse, modelVersion: string): void {
  expect(ticketResponseSchema.safeParse(ticket).success).toBe(true);
  expect(ticket.status).toBe('processed');
  expect(modelConfig.labels).toContain(ticket.category);
  expect(ticket.confidence).toBeGreaterThan(0);
  expect(ticket.confidence).toBeLessThanOrEqual(1);
  expect(ticket.top3).toHaveLength(3);
  expect(ticket.top3![0]).toEqual({ category: ticket.category, probability: ticket.confidence });
  const probs = ticket.top3!.map((p) => p.probability);
  expect([...probs].sort((a, b) => b - a)).toEqual(probs);
  expect(ticket.urgency_score).toBeGreaterThanOrEqual(0);
  expect(ticket.urgency_score).toBeLessThanOrEqual(1);
  expect(ticket.model_version).toBe(modelVersion);
  expect(ticket.processed_at).not.toBeNull();
  expect(ticket.timings!.queue_ms).toBeGreaterThanOrEqual(0);
  expect(ticket.timings!.inference_ms).toBeGreaterThan(0);
  const thresholds = modelConfig.action_thresholds ?? { auto_route: 0.85, human_review: 0.7 };
  const expected = ticket.confidence! >= thresholds.auto_route ? 'AUTO_ROUTE' : ticket.confidence! >= thresholds.human_review ? 'HUMAN_REVIEW' : 'ESCALATE';
  expect(ticket.action).toBe(expected);
}

describe('triage worker with the shipped model', () => {
  it('triages real tickets, reports readiness and feeds /next in urgency order', async () => {
    const handle = await worker();
    expect(handle.modelVersion).toBe(modelConfig.model_version);
    const ready = await request(gw.app).get('/ready');
    expect(ready.body).toMatchObject({ status: 'ready', workers: 1, model_versions: [modelConfig.model_version] });

    const { tickets } = loadSampleTickets(12);
    const ids = await Promise.all(tickets.map((t) => submit({ ...(t.subject ? { subject: t.subject } : {}), body: t.body })));
    const results = await Promise.all(ids.map(settled));
    for (const ticket of results) expectTriaged(ticket, handle.modelVersion);
    expect(await gw.store.statusCounts()).toEqual({ pending: 0, processing: 0, processed: 12, leased: 0, done: 0, failed: 0, waiting_for_agent: 12 });

    const popped: number[] = [];
    for (;;) {
      const res = await request(gw.app).get('/v2/tickets/next');
      if (res.status === 404) break;
      popped.push(res.body.urgency_score as number);
    }
    expect(popped).toHaveLength(12);
    expect([...popped].sort((a, b) => b - a)).toEqual(popped);
  });

  it('never crashes on odd text and keeps working afterwards', async () => {
    const handle = await worker();
    const poison = [
      'a'.repeat(20_000),
      '🔥'.repeat(5_000),
      '😀👍🏽👨‍👩‍👧‍👦🇩🇪 ✔︎ ™ ∞ ≠ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
      'مرحبا، لا أستطيع تسجيل الدخول إلى حسابي منذ أمس',
      'שלום, החשבונית שלי שגויה',
      '\u0000\u0001\u0002\u0007\b\u001b[31m\u007f\u0080\u009f\ufffd\ufeff',
      'ÿØÿà\u0000\u0010JFIF\u0000\u0001\u0001\u0000\u0000\u0001',
      '\ud800 lone surrogate \udfff',
      'Hallo, my 打印机 ne marche pas, ¿pueden ayudar? Привет! こんにちは',
      '\u202eRTL override\u202c \u200f\u200e\u200b',
      ' '.repeat(19_999) + '.',
      '\n\n\n\t\t\t.',
    ];
    const ids = await Promise.all(poison.map((body, i) => submit(i % 2 ? { subject: body.slice(0, 500), body } : { body })));
    for (const ticket of await Promise.all(ids.map(settled))) expectTriaged(ticket, handle.modelVersion);

    expectTriaged(await settled(await submit({ subject: 'Invoice', body: 'I was charged twice this month.' })), handle.modelVersion);
  });

  it('gives one result when two workers get jobs for the same ticket', async () => {
    await worker();
    await worker();
    const id = await submit({ body: 'Our VPN is down for everyone in the office.' });
    // A second job for the same ticket, as a redelivery or a manual re-run would create.
    await gw.ticketsQueue.add(JobName.Triage, (await gw.ticketsQueue.getJob(id))!.data, { jobId: `${id}-again` });

    const [first, second] = await Promise.all(
      [id, `${id}-again`].map((jobId) =>
        eventually(`job ${jobId} finished`, async () => {
          const job = await gw.ticketsQueue.getJob(jobId);
          return job?.finishedOn ? job : undefined;
        }),
      ),
    );
    expect([first!.returnvalue.outcome, second!.returnvalue.outcome].sort()).toEqual(['already-processed', 'processed']);
    expect(await gw.store.statusCounts()).toEqual({ pending: 0, processing: 0, processed: 1, leased: 0, done: 0, failed: 0, waiting_for_agent: 1 });
  });

  it('leaves a ticket locked by another worker to that worker, then picks it up once free', async () => {
    await worker();
    const ticketId = randomUUID();
    await gw.redis.set(gw.keys.ticketLock(ticketId), 'someone-else', 'PX', 60_000);
    await gw.store.create({ ticket_id: ticketId, body: 'Printer jammed again', accepted_at: new Date().toISOString() });
    await gw.ticketsQueue.add(JobName.Triage, { ticket_id: ticketId, body: 'Printer jammed again', accepted_at: new Date().toISOString() }, { jobId: ticketId });

    await eventually('the job started', async () => ((await gw.ticketsQueue.getJob(ticketId))?.attemptsStarted ? true : undefined));
    await eventually('the job delayed while another worker holds the ticket lock', async () => ((await (await gw.ticketsQueue.getJob(ticketId))!.getState()) === 'delayed' ? true : undefined));
    expect((await gw.store.get(ticketId))!.status).toBe('pending');
    expect(await gw.redis.get(gw.keys.ticketLock(ticketId))).toBe('someone-else');

    await gw.redis.del(gw.keys.ticketLock(ticketId));
    const ticket = await settled(ticketId);
    expect(ticket.status).toBe('processed');
    // The commit gives the lock back with the result.
    expect(await gw.redis.exists(gw.keys.ticketLock(ticketId))).toBe(0);
  });

  it('reprocessing a processed ticket keeps the first result', async () => {
    await worker();
    const id = await submit({ body: 'Refund for order 1182 please' });
    const first = await settled(id);
    // The result is stored before the job itself completes (statistics and hooks run in between).
    const job = await eventually('the job completed', async () => {
      const j = await gw.ticketsQueue.getJob(id);
      return (await j?.isCompleted()) ? j : undefined;
    });
    await job.retry('completed');
    await eventually('the second run answered already-processed', async () => ((await gw.ticketsQueue.getJob(id))?.returnvalue?.outcome === 'already-processed' ? true : undefined));
    // effective_priority grows with the wait; everything stored stays as it was.
    expect(await gw.store.get(id)).toEqual({ ...first, effective_priority: expect.any(Number) });
    expect(await gw.store.statusCounts()).toMatchObject({ processed: 1, waiting_for_agent: 1 });
  });

  it('fails a malformed job permanently with its reason, visible via GET', async () => {
    await worker();
    const id = randomUUID();
    await gw.store.create({ ticket_id: id, body: 'valid ticket', accepted_at: new Date().toISOString() });
    await gw.ticketsQueue.add(JobName.Triage, { ticket_id: id, body: 12345 } as never, { jobId: `${id}-bad`, attempts: 5 });

    const job = await eventually('the bad job failed', async () => {
      const j = await gw.ticketsQueue.getJob(`${id}-bad`);
      return j?.failedReason ? j : undefined;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid triage job payload: body/);
    const res = await request(gw.app).get(`/v2/tickets/${id}`);
    expect(res.body).toMatchObject({ status: 'failed', error: expect.stringMatching(/invalid triage job payload/) });
    expect(await gw.store.statusCounts()).toMatchObject({ failed: 1, pending: 0 });
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight jobs, leaves the rest queued and deregisters', async () => {
    const handle = await worker({ WORKER_CONCURRENCY: '2' });
    const active = new Set<string>();
    let closing: Promise<void> | undefined;
    handle.worker.on('active', (job) => {
      active.add(job.id!);
      closing ??= handle.close();
    });
    const { tickets } = loadSampleTickets(20);
    const ids = [];
    for (const t of tickets) ids.push(await submit({ body: t.body }));
    await eventually('the worker closing', async () => (closing ? true : undefined));
    await closing;

    const states = await Promise.all(ids.map(async (id) => [(await gw.store.get(id))!.status, await (await gw.ticketsQueue.getJob(id))!.getState()]));
    for (const [i, id] of ids.entries()) {
      const [status, jobState] = states[i]!;
      if (active.has(id)) expect([status, jobState]).toEqual(['processed', 'completed']);
      else expect(status).toBe('pending');
    }
    expect(active.size).toBeGreaterThan(0);
    expect(await gw.ticketsQueue.getActiveCount()).toBe(0);
    expect(await gw.redis.sismember(gw.keys.workers, handle.workerId)).toBe(0);

    // The queued rest is not lost: a new worker drains it.
    await worker();
    for (const id of ids) expect((await settled(id)).status).toBe('processed');
  });
});

describe('model errors', () => {
  it('are retried with backoff, then the ticket fails with the reason', async () => {
    const connection = connectRedis(gw.config, { kind: 'worker' });
    const keys = redisKeys(gw.config.REDIS_PREFIX);
    let calls = 0;
    // Fault injection at the model boundary: Redis and BullMQ stay real.
    const processor = createTriageProcessor({
      store: new TicketStore(connection, keys, queuePolicy(gw.config)),
      predict: async () => {
        calls += 1;
        throw new Error('onnx session exploded');
      },
      thresholds: { autoRoute: 0.85, humanReview: 0.7 },
      lockTtlMs: 10_000,
      lockBusyDelayMs: 100,
      logger: silentLogger(),
    });
    const queue = new Queue(QueueName.Tickets, { connection, prefix: keys.bullPrefix });
    const failing = new Worker(QueueName.Tickets, processor, { connection, prefix: keys.bullPrefix });
    try {
      const ticketId = randomUUID();
      await gw.store.create({ ticket_id: ticketId, body: 'x', accepted_at: new Date().toISOString() });
      await queue.add(JobName.Triage, { ticket_id: ticketId, body: 'x', accepted_at: new Date().toISOString() }, {
        jobId: ticketId,
        attempts: 3,
        backoff: { type: 'exponential', delay: 50 },
      });
      const job = await eventually('the job finished after its retries', async () => {
        const j = await queue.getJob(ticketId);
        return j?.finishedOn ? j : undefined;
      });
      expect(job.attemptsMade).toBe(3);
      expect(calls).toBe(3);
      expect(await gw.store.get(ticketId)).toMatchObject({ status: 'failed', error: 'onnx session exploded' });
      expect(await gw.redis.exists(keys.ticketLock(ticketId))).toBe(0);
    } finally {
      await failing.close();
      await queue.close();
      connection.disconnect();
    }
  });
});
