/**
 * `npm run soak -- --tickets N [--rate R]`: a fault-injection soak on loopback. Starts its own
 * stack (embedded redis-server with AOF, gateway, two workers, a webhook receiver for alerts),
 * measures capacity, then posts N tickets at ~80 % of it with Idempotency-Keys and retries while
 * agents drain /v2/tickets/next. Mid-run it SIGKILLs a worker, restarts Redis and freezes it
 * (SIGSTOP) once each, then counts what every ticket became. A pass is
 * accepted = processed = N and failed = lost = processed twice = alerted twice = popped twice = 0.
 *
 * With --url and --redis-url it runs the load and the counting against an existing loopback
 * stack instead, without faults (it cannot reach those processes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { QueueName, alertsQueueName, redisKeys } from '@triage/shared';
import { APPENDFSYNC_MODES, type RedisServerHandle, freePort, startRedisServer } from './embedded-redis';
import { REPO_ROOT, SERVICE_ENV, SERVICE_NODE_ARGS } from './stack';
import { loadSampleTickets } from './ticket-samples';

const optionsSchema = z.object({
  tickets: z.coerce.number().int().min(100).max(200_000).default(1000),
  rate: z.coerce.number().positive().optional(),
  url: z.url().optional(),
  'redis-url': z.string().regex(/^redis:\/\//).optional(),
  prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('soak'),
  'freeze-seconds': z.coerce.number().positive().max(60).default(5),
  'max-minutes': z.coerce.number().positive().max(120).default(20),
  appendfsync: z.enum(APPENDFSYNC_MODES).default('everysec'),
});
type Options = z.output<typeof optionsSchema>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const log = (message: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);

function parseOptions(): Options {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(optionsSchema.shape).map((k) => [k, { type: 'string' as const }])),
    strict: true,
  });
  const options = optionsSchema.parse(values);
  for (const url of [options.url, options['redis-url']]) {
    if (url !== undefined && !LOOPBACK.has(new URL(url).hostname)) throw new Error(`the soak runs on loopback only, not ${url}`);
  }
  if ((options.url === undefined) !== (options['redis-url'] === undefined)) throw new Error('--url and --redis-url go together');
  return options;
}

/** The processes the soak controls, and what it can do to them. */
interface Target {
  url: string;
  redisUrl: string;
  prefix: string;
  faults: boolean;
  /** The worker killWorker() will kill. */
  nextVictim(): string;
  killWorker(): Promise<string>;
  restartRedis(): Promise<void>;
  freezeRedis(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));

async function ownStack(options: Options, alertUrl: string): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'triage-soak-'));
  let redis: RedisServerHandle = await startRedisServer({ dataDir, appendfsync: options.appendfsync });
  const port = await freePort();
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    REDIS_PREFIX: options.prefix,
    PORT: String(port),
    AUTH: 'off',
    LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn',
    WEBHOOK_URL: alertUrl,
    WEBHOOK_SECRET: 'soak-webhook-secret-0123456789',
    ALERT_BACKOFF_MS: '200',
    LEASE_TTL_MS: '10000',
    WORKER_METRICS_PORT: '0',
  };
  const children: ChildProcess[] = [];
  const launch = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...env, ...extra }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    return child;
  };
  const gateway = launch(SERVICE_NODE_ARGS.gateway, SERVICE_ENV.gateway);
  let workerCount = 0;
  const workers = new Map<string, ChildProcess>();
  const startWorker = () => {
    const id = `soak-worker-${++workerCount}`;
    workers.set(id, launch(SERVICE_NODE_ARGS.worker, { ...SERVICE_ENV.worker, WORKER_ID: id }));
    return id;
  };
  startWorker();
  startWorker();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    if (gateway.exitCode !== null) throw new Error('gateway exited during start-up');
    if (await fetch(`${url}/ready`).then((r) => r.ok, () => false)) break;
    if (i > 1200) throw new Error('stack not ready after 120 s');
    await sleep(100);
  }
  return {
    url,
    redisUrl: redis.url,
    prefix: options.prefix,
    faults: true,
    nextVictim: () => [...workers.keys()][0]!,
    async killWorker() {
      const [id, victim] = [...workers][0]!;
      victim.kill('SIGKILL');
      await exited(victim);
      workers.delete(id);
      startWorker(); // a replacement, as an orchestrator would start
      return id;
    },
    async restartRedis() {
      await redis.stop();
      redis = await startRedisServer({ dataDir, appendfsync: options.appendfsync, port: redis.port });
    },
    async freezeRedis(ms) {
      redis.process.kill('SIGSTOP');
      await sleep(ms);
      redis.process.kill('SIGCONT');
    },
    async stop() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.all(children.map(exited));
      redis.process.kill('SIGCONT');
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A generic-webhook receiver that answers 200 and counts each delivery id. */
async function alertReceiver(): Promise<{ url: string; deliveries: Map<string, number>; close(): Promise<void> }> {
  const deliveries = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-triage-delivery-id'] ?? 'missing');
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Counters {
  /** Idempotency key → ticket id of the 202. */
  accepted: Map<string, string>;
  rejected: number;
  status503: number;
  /** Ticket id → how many agents received it with 200 from /next. */
  popped: Map<string, number>;
  next503: number;
  /** Timestamps (ms) of 202 answers and of tickets seen processed, for recovery times. */
  lastAcceptAt: number;
}

async function post(url: string, key: string, body: string): Promise<Response | undefined> {
  try {
    return await fetch(`${url}/v2/tickets`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ body }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return undefined;
  }
}

/** Posts one ticket until it gets a 202, retrying 503s and network errors with the same key. */
async function submit(url: string, key: string, body: string, counters: Counters, giveUpAt: number): Promise<void> {
  for (let attempt = 0; Date.now() < giveUpAt; attempt += 1) {
    const res = await post(url, key, body);
    if (res?.status === 202) {
      counters.accepted.set(key, ((await res.json()) as { ticket_id: string }).ticket_id);
      counters.lastAcceptAt = Date.now();
      return;
    }
    if (res?.status === 503) counters.status503 += 1;
    else if (res) throw new Error(`POST /v2/tickets → ${res.status}: ${await res.text()}`);
    await sleep(Math.min(2_000, 100 * 2 ** attempt));
  }
  counters.rejected += 1;
}

/** One agent: takes the next ticket, acknowledges it when the API has leases, repeats. */
async function agent(url: string, name: string, counters: Counters, stopAt: () => boolean): Promise<void> {
  const headers = { 'X-Agent-Id': name };
  while (!stopAt()) {
    let res: Response;
    try {
      res = await fetch(`${url}/v2/tickets/next`, { headers, signal: AbortSignal.timeout(10_000) });
    } catch {
      await sleep(200);
      continue;
    }
    if (res.status === 404) {
      await res.arrayBuffer();
      await sleep(200);
      continue;
    }
    if (res.status !== 200) {
      if (res.status === 503) counters.next503 += 1;
      await res.arrayBuffer();
      await sleep(200);
      continue;
    }
    const ticket = (await res.json()) as { ticket_id: string; lease?: unknown };
    counters.popped.set(ticket.ticket_id, (counters.popped.get(ticket.ticket_id) ?? 0) + 1);
    if (ticket.lease === undefined) continue;
    // Acking is idempotent for the holder: retry until it lands, so a lease never lapses here.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const ack = await fetch(`${url}/v2/tickets/${ticket.ticket_id}/ack`, { method: 'POST', headers, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      await ack?.arrayBuffer();
      if (ack?.ok) break;
      await sleep(200);
    }
  }
}

/** Ticket records of this run, read straight from Redis: status and the soak marker in the body. */
async function records(redis: Redis, prefix: string, runId: string): Promise<{ id: string; key: string; status: string }[]> {
  const keys = redisKeys(prefix);
  const ticketKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.ticket('*'), 'COUNT', 1000);
    cursor = next;
    ticketKeys.push(...batch);
  } while (cursor !== '0');
  const pipeline = redis.pipeline();
  for (const key of ticketKeys) pipeline.hmget(key, 'ticket_id', 'status', 'body');
  const rows = ((await pipeline.exec()) ?? []).map(([, v]) => v as (string | null)[]);
  const marker = new RegExp(`\\[soak ${runId} (\\d+)\\]`);
  return rows.flatMap(([id, status, body]) => {
    const match = body ? marker.exec(body) : null;
    return id && status && match ? [{ id, key: match[1]!, status }] : [];
  });
}

async function processedCount(redis: Redis, prefix: string): Promise<number> {
  // Past `processed` a ticket is leased or done; all count as processed here.
  const counts = await redis.hgetall(redisKeys(prefix).statusCounts);
  return ['processed', 'leased', 'done'].reduce((sum, s) => sum + Number(counts[s] ?? 0), 0);
}

/** Time until `probe` holds, polled every 100 ms; undefined when it never did before `limitMs`. */
async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await probe().catch(() => false)) return Date.now() - start;
    await sleep(100);
  }
  return undefined;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const hardStop = Date.now() + options['max-minutes'] * 60_000;
  const runId = randomUUID().slice(0, 8);
  const receiver = await alertReceiver();
  const target: Target = options.url
    ? {
        url: options.url,
        redisUrl: options['redis-url']!,
        prefix: options.prefix,
        faults: false,
        nextVictim: () => '',
        killWorker: async () => '',
        restartRedis: async () => undefined,
        freezeRedis: async () => undefined,
        stop: async () => undefined,
      }
    : await ownStack(options, receiver.url);
  // The soak's own view of Redis; it waits out the faults like a worker does.
  const redis = new Redis(target.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const bullPrefix = redisKeys(target.prefix).bullPrefix;
  const ticketsQueue = new Queue(QueueName.Tickets, { connection: redis, prefix: bullPrefix });
  const alertsQueue = new Queue(alertsQueueName('webhook'), { connection: redis, prefix: bullPrefix });
  for (const queue of [ticketsQueue, alertsQueue]) queue.on('error', () => undefined);
  const { tickets } = loadSampleTickets(Math.min(options.tickets, 2000));
  const counters: Counters = { accepted: new Map(), rejected: 0, status503: 0, popped: new Map(), next503: 0, lastAcceptAt: 0 };
  const recoveries: string[] = [];
  let agentsStop = false;
  const agents = Array.from({ length: 3 }, (_, i) => agent(target.url, `soak-agent-${i + 1}`, counters, () => agentsStop || Date.now() > hardStop));
  const bodyOf = (i: number) => `${tickets[i % tickets.length]!.body}\n[soak ${runId} ${i}]`;
  const keyOf = (i: number) => `soak-${runId}-${i}`;
  const giveUp = () => Math.min(hardStop, Date.now() + 120_000);

  // Ctrl-C still stops what the soak started.
  const interrupted = () => void target.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // Capacity: a burst of tickets, timed from the first POST until all are processed.
    const calibration = Math.min(300, Math.max(50, Math.round(options.tickets * 0.1)));
    let rate = options.rate;
    const base = await processedCount(redis, target.prefix);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: calibration }, (_, i) => submit(target.url, keyOf(i), bodyOf(i), counters, giveUp())));
    await timeUntil(async () => (await processedCount(redis, target.prefix)) - base >= calibration, 300_000);
    const capacity = calibration / ((Date.now() - t0) / 1000);
    rate ??= Math.max(1, capacity * 0.8);
    log(`capacity ≈ ${capacity.toFixed(1)} tickets/s (${calibration} tickets); posting the other ${options.tickets - calibration} at ${rate.toFixed(1)}/s`);

    // Faults at fixed points of the run, one at a time.
    const rest = options.tickets - calibration;
    const faultAt = [0.2, 0.45, 0.7].map((f) => calibration + Math.floor(rest * f));
    const faults: Promise<void>[] = [];
    const inject = async (i: number) => {
      if (!target.faults) return;
      if (i === faultAt[0]) {
        // Kill the worker while it holds tickets (waiting a little for it to take some).
        let active: Job[] = [];
        await timeUntil(async () => (active = (await ticketsQueue.getActive()).filter((job) => job.processedBy === target.nextVictim())).length > 0, 10_000);
        const started = Date.now();
        const victim = await target.killWorker();
        // Its jobs must be finished by another worker; tickets it had not committed yet are the ones at risk.
        const statusOf = (id: string) => redis.hget(redisKeys(target.prefix).ticket(id), 'status');
        // A job it completed between the look and the kill is not in flight.
        const jobs: string[] = [];
        for (const job of active) if ((await ticketsQueue.getJob(job.id!))?.finishedOn === undefined) jobs.push(job.id!);
        const uncommitted: string[] = [];
        for (const id of jobs) if (['pending', 'processing'].includes((await statusOf(id)) ?? '')) uncommitted.push(id);
        log(`SIGKILLed ${victim} holding ${jobs.length} job(s), ${uncommitted.length} of them not yet committed`);
        faults.push(
          timeUntil(async () => {
            const finished = await Promise.all(jobs.map(async (id) => (await ticketsQueue.getJob(id))?.finishedOn !== undefined));
            const statuses = await Promise.all(uncommitted.map(statusOf));
            return finished.every(Boolean) && statuses.every((s) => s !== null && s !== 'pending' && s !== 'processing');
          }, 120_000).then((ms) => {
            const outcome = ms === undefined ? 'NOT within 120 s' : `${seconds(Date.now() - started)} after the kill`;
            recoveries.push(`worker SIGKILL: its ${jobs.length} job(s) (${uncommitted.length} ticket(s) not yet committed) finished by another worker ${outcome}`);
          }),
        );
      } else if (i === faultAt[1] || i === faultAt[2]) {
        const restart = i === faultAt[1];
        const before = await processedCount(redis, target.prefix);
        const started = Date.now();
        if (restart) await target.restartRedis();
        else await target.freezeRedis(options['freeze-seconds'] * 1000);
        const faultMs = Date.now() - started;
        const name = restart ? 'Redis restart' : `Redis freeze (SIGSTOP ${options['freeze-seconds']} s)`;
        log(`${name} done in ${seconds(faultMs)}`);
        faults.push(
          (async () => {
            const accepting = await timeUntil(async () => counters.lastAcceptAt > started + faultMs, 120_000);
            const processing = await timeUntil(async () => (await processedCount(redis, target.prefix)) > before, 120_000);
            recoveries.push(
              `${name}: fault lasted ${seconds(faultMs)}; accepting again ${accepting === undefined ? 'never' : seconds(accepting)} and processing again ${processing === undefined ? 'never' : `within ${seconds(processing)}`} after it ended`,
            );
          })(),
        );
      }
    };

    const posts: Promise<void>[] = [];
    const startAt = Date.now();
    for (let i = calibration; i < options.tickets && Date.now() < hardStop; i += 1) {
      const due = startAt + ((i - calibration) / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      posts.push(submit(target.url, keyOf(i), bodyOf(i), counters, giveUp()));
      // Not awaited: posting goes on while the fault lasts.
      if (faultAt.includes(i)) faults.push(inject(i));
    }
    await Promise.all(posts);
    await Promise.all(faults);
    log(`posting done: ${counters.accepted.size} accepted, ${counters.rejected} given up, ${counters.status503} answers were 503`);

    // Drain: every accepted ticket settled, every processed one handed to an agent, alerts sent.
    const ids = new Set(counters.accepted.values());
    const settled = async () => {
      const rows = await records(redis, target.prefix, runId);
      return rows.filter((r) => ids.has(r.id) && r.status !== 'pending' && r.status !== 'processing').length >= ids.size;
    };
    await timeUntil(settled, Math.max(0, hardStop - Date.now()));
    await timeUntil(async () => [...ids].every((id) => counters.popped.has(id)), Math.min(60_000, Math.max(0, hardStop - Date.now())));
    await timeUntil(async () => Object.values(await alertsQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized')).every((n) => n === 0), 60_000);
    agentsStop = true;
    await Promise.all(agents);

    // Count.
    const rows = await records(redis, target.prefix, runId);
    const byKey = new Map<string, typeof rows>();
    for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
    const statusOf = new Map(rows.map((r) => [r.id, r.status]));
    const isProcessed = (s: string | undefined) => s === 'processed' || s === 'leased' || s === 'done';
    const accepted = [...counters.accepted.values()];
    const processed = accepted.filter((id) => isProcessed(statusOf.get(id))).length;
    const failed = accepted.filter((id) => statusOf.get(id) === 'failed').length;
    const lost = accepted.length - processed - failed;
    const processedTwice = [...byKey.values()].filter((group) => group.filter((r) => isProcessed(r.status)).length > 1).length;
    const unacknowledged = rows.filter((r) => !ids.has(r.id));
    const alertedTwice = [...receiver.deliveries.values()].filter((n) => n > 1).length;
    const poppedTwice = [...counters.popped.values()].filter((n) => n > 1).length;
    const neverPopped = accepted.filter((id) => isProcessed(statusOf.get(id)) && !counters.popped.has(id)).length;

    console.log(`\nSoak ${runId}: ${options.tickets} tickets, ${target.faults ? 'worker SIGKILL + Redis restart + Redis freeze' : 'no faults (external stack)'}`);
    const line = (label: string, value: number | string) => console.log(`  ${label.padEnd(44)} ${value}`);
    line('accepted (202)', accepted.length);
    line('processed', processed);
    line('failed', failed);
    line('lost (accepted, never processed)', lost);
    line('processed twice (one Idempotency-Key, two records)', processedTwice);
    line('alerted twice (same delivery id)', alertedTwice);
    line('popped twice (two agents got one ticket)', poppedTwice);
    line('processed but never handed to an agent', neverPopped);
    line('records nobody got a 202 for', `${unacknowledged.length}${unacknowledged.length ? ` (${[...new Set(unacknowledged.map((r) => r.status))].join(', ')})` : ''}`);
    line('given up after retries (not accepted)', counters.rejected);
    line('503 answers (POST / next)', `${counters.status503} / ${counters.next503}`);
    line('alerts delivered', receiver.deliveries.size);
    for (const recovery of recoveries) console.log(`  recovery: ${recovery}`);
    const pass =
      accepted.length === options.tickets && processed === options.tickets && failed + lost + processedTwice + alertedTwice + poppedTwice + neverPopped === 0;
    console.log(pass ? '\nPASS' : '\nFAIL');
    process.exitCode = pass ? 0 : 1;
  } finally {
    agentsStop = true;
    await Promise.all([ticketsQueue.close(), alertsQueue.close()]).catch(() => undefined);
    redis.disconnect();
    await target.stop();
    await receiver.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
