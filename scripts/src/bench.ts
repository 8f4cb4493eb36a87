/**
 * `npm run bench`: one run, the same held-back tickets throughout (docs/performance.md).
 *  (a) the ceiling: the worker's ONNX encoder alone (no service) in every processes × threads layout
 *      that fills the cores, at batch sizes 1/2/4/8 over length-sorted texts;
 *  (b) the service's sustained throughput with the best layout, and its ratio to (a);
 *  (c) accept → processed latency at ~50 % and ~80 % of the service's capacity (open-loop arrivals);
 *  (d) the gateway's accept rate on POST /v2/tickets (autocannon; Redis, no workers);
 *  (e) resident memory of the gateway and of each worker.
 * Writes bench/results/<time>.json and .md, and the table between the bench markers in README.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  errorMessage,
  type TicketResponse,
  TicketStore,
  gatewayConfigSchema,
  loadConfigOrExit,
  loadFallbackModel,
  parseEnv,
  queuePolicy,
  readModelConfig,
  redisKeys,
  ticketText,
} from '@triage/shared';
import type { CeilingInit, FromCeilingChild, ToCeilingChild } from './bench-ceiling.child';
import { TriageClient } from './client';
import { freePort } from './embedded-redis';
import { REPO_ROOT, type Stack, startStack } from './stack';
import { DATA_CSV, type SampleTicket, loadSampleTickets } from './ticket-samples';

const benchConfigSchema = z.object({
  BENCH_DATA_CSV: z.string().min(1).default(DATA_CSV),
  BENCH_TICKETS: z.coerce.number().int().min(10).default(774),
  BENCH_CORES: z.coerce.number().int().min(1).default(availableParallelism()),
  BENCH_BATCHES: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .default('1,2,4,8')
    .transform((s) => s.split(',').map(Number)),
  /** (b) queues the tickets this many times over, so the drain lasts long enough to be sustained. */
  BENCH_ROUNDS: z.coerce.number().int().min(1).default(2),
  BENCH_LOAD_SECONDS: z.coerce.number().positive().default(10),
  BENCH_GATEWAY_REQUESTS: z.coerce.number().int().min(100).default(60_000),
  BENCH_GATEWAY_CONNECTIONS: z.coerce.number().int().min(1).default(32),
  /** (e) the gateway idles this long after (d) before its settled RSS is read. */
  BENCH_SETTLE_SECONDS: z.coerce.number().min(0).default(40),
  /** Jobs in flight per worker in (b)/(c); unset → twice the ceiling's batch (at least 4), see serviceConcurrency. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  BENCH_ENCODER_BUDGET_MS: z.coerce.number().int().min(1).default(60_000),
  MODEL_DIR: z.string().min(1).default(join(REPO_ROOT, 'models', 'triage')),
});
type BenchConfig = z.output<typeof benchConfigSchema>;

const CHILD = join(__dirname, 'bench-ceiling.child.js');
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
const README = join(REPO_ROOT, 'README.md');
const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';

interface Layout {
  processes: number;
  threads: number;
}
interface CeilingRow extends Layout {
  batch: number;
  tickets_per_s: number;
  run_p50_ms: number;
  /** CPU time per ticket: unlike wall-clock rates, barely moved by other load on the machine. */
  cpu_ms_per_ticket: number;
}
interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}
interface LoadRow {
  target_fraction: number;
  offered_per_s: number;
  tickets: number;
  accept_to_processed_ms: Percentiles;
  inference_ms_p50: number;
  /** Accept → the worker starting the ticket (BullMQ's hand-over, the ticket lock), the rest of accept → processed. */
  queue_ms_p50: number;
  served_by: Record<string, number>;
}

const percentile = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const percentiles = (values: number[]): Percentiles => ({ p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) });
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * VmRSS and its peak, plus what RSS counts that is not the process's own: file pages (the node binary,
 * libonnxruntime) are mapped read-only and shared by every process on the machine, so RSS counts them
 * in full for each; PSS splits shared pages between the processes that map them.
 */
function rssMb(pid: number | undefined): { rss: number; peak: number; file: number; pss: number } {
  const read = (file: string) => (pid === undefined ? '' : readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  const status = read('status');
  const rollup = read('smaps_rollup');
  const mb = (text: string, field: string) => round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024);
  return { rss: mb(status, 'VmRSS'), peak: mb(status, 'VmHWM'), file: mb(status, 'RssFile'), pss: mb(rollup, 'Pss') };
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Every processes × threads split of the cores. */
function layouts(cores: number): Layout[] {
  return Array.from({ length: cores }, (_, i) => i + 1)
    .filter((p) => cores % p === 0)
    .map((processes) => ({ processes, threads: cores / processes }))
    .reverse();
}

function once<T extends FromCeilingChild['type']>(child: ChildProcess, type: T): Promise<Extract<FromCeilingChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromCeilingChild) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as Extract<FromCeilingChild, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`ceiling process exited (${code}) while waiting for "${type}"`)));
  });
}

/**
 * A worker reaches a run of `batch` texts only with that many jobs waiting while the previous run computes:
 * twice the batch in flight (at least the service default of 4), unless WORKER_CONCURRENCY says otherwise.
 */
function serviceConcurrency(configured: number | undefined, batch: number): number {
  return configured ?? Math.max(4, 2 * batch);
}

/**
 * (a) The encoder alone: each process runs its share of the length-sorted texts, all starting together;
 * every layout and batch size, or only `only`'s.
 */
async function measureCeiling(config: BenchConfig, sorted: string[], only?: CeilingRow): Promise<CeilingRow[]> {
  const rows: CeilingRow[] = [];
  for (const layout of only ? [only] : layouts(config.BENCH_CORES)) {
    const children = Array.from({ length: layout.processes }, () => fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    try {
      const loaded = children.map((c) => once(c, 'loaded'));
      children.forEach((child, k) => {
        const init: CeilingInit = { modelDir: config.MODEL_DIR, threads: layout.threads, texts: sorted.filter((_, i) => i % layout.processes === k) };
        child.send({ type: 'init', init } satisfies ToCeilingChild);
      });
      await Promise.all(loaded);
      for (const batch of only ? [only.batch] : config.BENCH_BATCHES) {
        const done = children.map((c) => once(c, 'done'));
        for (const child of children) child.send({ type: 'run', batch } satisfies ToCeilingChild);
        const results = await Promise.all(done);
        const seconds = Math.max(...results.map((r) => r.seconds));
        const row = {
          ...layout,
          batch,
          tickets_per_s: round(sorted.length / seconds),
          run_p50_ms: round(percentile(results.flatMap((r) => r.runMs), 50), 2),
          cpu_ms_per_ticket: round((results.reduce((a, r) => a + r.cpuSeconds, 0) * 1000) / sorted.length, 2),
        };
        rows.push(row);
        log(`  ${layout.processes} process(es) × ${layout.threads} thread(s), batch ${batch}: ${row.tickets_per_s} tickets/s (run p50 ${row.run_p50_ms} ms, ${row.cpu_ms_per_ticket} CPU ms/ticket)`);
      }
    } finally {
      for (const child of children) child.send({ type: 'exit' } satisfies ToCeilingChild);
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    }
  }
  return rows;
}

/**
 * The layout (a) is read from and (b)/(c) run the service in. On this VM two layouts can come within its
 * run-to-run noise of each other, and the pick decides everything after it: one process with two intra-op
 * threads leaves the worker's main thread no core of its own (0.38 of the ceiling in a run that picked it
 * by 196 against 187 tickets/s). So each layout's best batch runs once more and the layout with the higher
 * mean of its two runs wins; its better run stays the ceiling.
 */
async function pickLayout(config: BenchConfig, sorted: string[], rows: CeilingRow[]): Promise<CeilingRow> {
  const faster = (a: CeilingRow, b: CeilingRow) => (b.tickets_per_s > a.tickets_per_s ? b : a);
  const perLayout = layouts(config.BENCH_CORES).map((l) => rows.filter((r) => r.processes === l.processes).reduce(faster));
  if (perLayout.length === 1) return perLayout[0]!;
  log("  each layout's best batch once more:");
  const scored: { row: CeilingRow; mean: number }[] = [];
  for (const row of perLayout) {
    const [again] = await measureCeiling(config, sorted, row);
    scored.push({ row: faster(row, again!), mean: (row.tickets_per_s + again!.tickets_per_s) / 2 });
  }
  return scored.reduce((a, b) => (b.mean > a.mean ? b : a)).row;
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Waits until Redis says every ticket accepted so far has left pending/processing. */
async function drained(store: TicketStore): Promise<void> {
  for (;;) {
    const counts = await store.statusCounts();
    if (counts.pending === 0 && counts.processing === 0) return;
    await sleep(100);
  }
}

async function waitForWorkers(ports: number[]): Promise<void> {
  for (const port of ports) {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(200);
    }
  }
}

interface ServicePids {
  workers: (number | undefined)[];
  redis: number | undefined;
}

const payload = (t: SampleTicket) => (t.subject ? { subject: t.subject, body: t.body } : { body: t.body });

/** (b) Queue every ticket (ROUNDS times) as fast as the gateway takes them, then time the drain after the last accept. */
async function measureService(client: TriageClient, store: TicketStore, tickets: SampleTicket[], rounds: number, pids: ServicePids) {
  const all = Array.from({ length: tickets.length * rounds }, (_, i) => tickets[i % tickets.length]!);
  const ids: string[] = [];
  const cpuBefore = { workers: pids.workers.map(cpuSeconds), redis: cpuSeconds(pids.redis) };
  await inParallel(all, 32, async (t) => void ids.push(await client.submit(payload(t))));
  const postedAt = Date.now();
  await drained(store);
  const done = await Promise.all(ids.map((id) => store.get(id)));
  const processed = done.map((t) => Date.parse(t!.processed_at ?? ''));
  const after = processed.filter((at) => at > postedAt);
  const seconds = (Math.max(...after) - postedAt) / 1000;
  const perTicket = (s: number) => round((s * 1000) / ids.length, 2);
  const workersCpu = pids.workers.reduce<number>((a, pid, i) => a + cpuSeconds(pid) - cpuBefore.workers[i]!, 0);
  return {
    tickets: after.length,
    seconds: round(seconds, 2),
    tickets_per_s: round(after.length / seconds),
    cpu_ms_per_ticket: { workers: perTicket(workersCpu), redis: perTicket(cpuSeconds(pids.redis) - cpuBefore.redis) },
    served_by: servedBy(done),
  };
}

/** (c) Open-loop arrivals at `rate` per second for `seconds`; accept → processed as the services stamp them. */
async function measureLatency(client: TriageClient, store: TicketStore, tickets: SampleTicket[], rate: number, seconds: number) {
  const count = Math.max(1, Math.round(rate * seconds));
  const started = performance.now();
  const pending: Promise<string>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(client.submit(payload(tickets[i % tickets.length]!)));
  }
  const ids = await Promise.all(pending);
  await drained(store);
  const done = (await Promise.all(ids.map((id) => store.get(id)))).filter((t) => t?.status === 'processed');
  return {
    tickets: done.length,
    accept_to_processed_ms: percentiles(done.map((t) => Date.parse(t!.processed_at!) - Date.parse(t!.accepted_at))),
    inference_ms_p50: round(percentile(done.map((t) => t!.timings?.inference_ms ?? NaN), 50), 2),
    queue_ms_p50: round(percentile(done.map((t) => t!.timings?.queue_ms ?? NaN), 50), 2),
    served_by: servedBy(done),
  };
}

/** Which model answered: the n-gram fallback serves while a worker's breaker is open (e.g. an overloaded machine). */
function servedBy(tickets: (TicketResponse | null)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of tickets) counts[t?.model_used ?? 'unknown'] = (counts[t?.model_used ?? 'unknown'] ?? 0) + 1;
  return counts;
}

const servedByText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([model, n]) => `${model} ${n}`)
    .join(', ');

/** CPU time of the n-gram blend per ticket (the worker's main thread adds it to every encoder answer). */
function ngramCpuMs(modelDir: string, texts: string[]): number {
  const { ngram } = loadFallbackModel(modelDir);
  for (const t of texts.slice(0, 50)) ngram.predict(t);
  const before = process.cpuUsage();
  for (const t of texts) ngram.predict(t);
  const used = process.cpuUsage(before);
  return round((used.user + used.system) / 1000 / texts.length, 2);
}

/** (d) POST /v2/tickets with autocannon, no workers consuming. */
async function measureGateway(stack: Stack, tickets: SampleTicket[], config: BenchConfig) {
  const bodies = tickets.slice(0, 50).map((t) => JSON.stringify(payload(t)));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(stack.apiKey ? { authorization: `Bearer ${stack.apiKey}` } : {}) };
  // a short warm-up so the JIT has compiled the hot path before the timed run
  await autocannon({ url: `${stack.url}/v2/tickets`, method: 'POST', headers, body: bodies[0], connections: 8, amount: 2_000 });
  const result = await autocannon({
    url: `${stack.url}/v2/tickets`,
    connections: config.BENCH_GATEWAY_CONNECTIONS,
    amount: config.BENCH_GATEWAY_REQUESTS,
    requests: bodies.map((body) => ({ method: 'POST' as const, headers, body })),
  });
  return {
    requests: result.requests.total,
    accepts_per_s: round(result['2xx'] / result.duration),
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99 },
  };
}

/**
 * Issue 15's bound for (c) at 50 % load: the encoder's own p50 for one ticket (batch 1, the best
 * layout's processes × threads, nothing around it) + 5 ms. Not the best layout's run p50: at batch
 * 2–8 one run carries several tickets, and the bound would grow with the batch.
 */
function latencyTarget(r: BenchResult): string {
  const best = r.ceiling.best;
  const single = r.ceiling.rows.find((c) => c.processes === best.processes && c.threads === best.threads && c.batch === 1);
  return single ? `p50 ≤ ${round(single.run_p50_ms + 5)} ms (encoder alone, one ticket per run: p50 ${single.run_p50_ms} ms)` : '– (batch 1 not measured)';
}

function markdown(r: BenchResult): string {
  const best = r.ceiling.best;
  const lines = [
    `Measured ${r.finished_at.slice(0, 16).replace('T', ' ')} UTC with \`npm run bench\` on ${r.machine.cores} cores (${r.machine.cpu}); load average before/after: ${r.machine.loadavg_before.join(' / ')} → ${r.machine.loadavg_after.join(' / ')}. Model \`${r.model_version}\`, ${r.tickets} held-back tickets.`,
    '',
    '| measurement | result | target |',
    '|---|---|---|',
    `| (a) ceiling: encoder alone, best layout | **${best.tickets_per_s} tickets/s** (${best.processes} process(es) × ${best.threads} thread(s), batch ${best.batch}, length-sorted; run p50 ${best.run_p50_ms} ms) | – |`,
    `| (b) service sustained (same layout; ${r.service.tickets} tickets processed after the last accept; served by ${servedByText(r.service.served_by)}) | **${r.service.tickets_per_s} tickets/s** = **${r.service.ratio_to_ceiling}** of the ceiling (a)${r.service.ceiling_after ? `; **${r.service.ratio_to_ceiling_after}** of the same layout re-measured after (c): ${r.service.ceiling_after.tickets_per_s} tickets/s` : ''} | ≥ 0.85 |`,
    `| (b) CPU per ticket: ceiling vs service | ${best.cpu_ms_per_ticket} ms vs workers ${r.service.cpu_ms_per_ticket.workers} ms (n-gram blend ${r.ceiling.ngram_blend_cpu_ms_per_ticket} ms of it) + Redis ${r.service.cpu_ms_per_ticket.redis} ms → **${r.service.cpu_ratio}** | – |`,
    ...r.latency.map(
      (l) =>
        `| (c) accept → processed at ${Math.round(l.target_fraction * 100)} % (${l.offered_per_s}/s, ${l.tickets} tickets) | p50 ${l.accept_to_processed_ms.p50} ms · p95 ${l.accept_to_processed_ms.p95} ms · p99 ${l.accept_to_processed_ms.p99} ms (queue p50 ${l.queue_ms_p50} ms, service inference p50 ${l.inference_ms_p50} ms; ${servedByText(l.served_by)}) | ${l.target_fraction === 0.5 ? latencyTarget(r) : '–'} |`,
    ),
    `| (d) gateway POST /v2/tickets, ${r.gateway.connections} connections, ${r.gateway.requests} requests, no workers | **${r.gateway.accepts_per_s} accepts/s**, p50 ${r.gateway.latency_ms.p50} ms, p99 ${r.gateway.latency_ms.p99} ms (${r.gateway.non_2xx} non-2xx, ${r.gateway.errors} errors) | ≥ 8,000/s, p99 ≤ 5 ms |`,
    `| (e) RSS gateway after (d): right after the last request · after ${r.memory.gateway_mb.settle_seconds} s idle | ${r.memory.gateway_mb.rss} MB (peak ${r.memory.gateway_mb.peak} MB) · **${r.memory.gateway_mb.settled} MB** | ≤ 100 MB |`,
    `| (e) RSS workers after (c) | ${r.memory.workers_mb.map((w) => `${w.rss} MB (peak ${w.peak})`).join(', ')}; of each, file pages shared with other processes (node, onnxruntime, the model's mapped weights): ${r.memory.workers_mb.map((w) => `${w.file}`).join(' / ')} MB; PSS ${r.memory.workers_mb.map((w) => `${w.pss}`).join(' / ')} MB | ≤ 200 MB each |`,
    '',
    'Ceiling, every layout (tickets/s):',
    '',
    `| layout | ${r.config.batches.map((b) => `batch ${b}`).join(' | ')} |`,
    `|---|${r.config.batches.map(() => '---').join('|')}|`,
    ...layouts(r.machine.cores).map(
      (l) =>
        `| ${l.processes} × ${l.threads} | ${r.config.batches.map((b) => r.ceiling.rows.find((c) => c.processes === l.processes && c.threads === l.threads && c.batch === b)?.tickets_per_s ?? '–').join(' | ')} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

type BenchResult = Awaited<ReturnType<typeof run>>;

async function withStack<T>(options: { workers: number; env: Record<string, string>; workerMetricsPort?: number }, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'triage-bench-'));
  const stack = await startStack({
    redisDataDir: dataDir,
    port: await freePort(),
    workers: options.workers,
    ...(options.workerMetricsPort ? { workerMetricsPort: options.workerMetricsPort } : {}),
    // Rate limits off: the bench measures capacity, not the per-key limiter (AUTH stays on).
    env: { REDIS_PREFIX: 'bench', LOG_LEVEL: 'warn', MODEL_DIR: options.env.MODEL_DIR ?? '', RATE_LIMIT_CLIENT: '0', RATE_LIMIT_AGENT: '0', RATE_LIMIT_ADMIN: '0', ...options.env },
    keyName: 'bench',
    quiet: true,
  });
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function run(config: BenchConfig) {
  const loadBefore = loadavg().map((x) => round(x, 2));
  const { source, tickets } = loadSampleTickets(config.BENCH_TICKETS, config.BENCH_DATA_CSV);
  const texts = tickets.map((t) => ticketText(t.subject, t.body));
  const modelVersion = readModelConfig(config.MODEL_DIR).model_version;
  log(`Triage benchmark: ${tickets.length} tickets from ${source}; ${config.BENCH_CORES} cores; load average ${loadBefore.join(' ')}`);

  log('\n(a) ceiling: the ONNX encoder alone');
  const sorted = [...texts].sort((a, b) => a.length - b.length);
  const ceilingRows = await measureCeiling(config, sorted);
  const best = await pickLayout(config, sorted, ceilingRows);
  const blendCpuMs = ngramCpuMs(config.MODEL_DIR, texts);
  log(`  n-gram blend (worker main thread, not in the ceiling): ${blendCpuMs} CPU ms/ticket`);

  const concurrency = serviceConcurrency(config.WORKER_CONCURRENCY, best.batch);
  const env = {
    MODEL_DIR: config.MODEL_DIR,
    // The bench measures the encoder path: with the default budget a busy machine would hand tickets
    // to the n-gram fallback and (b)/(c) would time the wrong model.
    ENCODER_LATENCY_BUDGET_MS: String(config.BENCH_ENCODER_BUDGET_MS),
    INTRA_OP_THREADS: String(best.threads),
    INFERENCE_MAX_BATCH: String(best.batch),
    WORKER_CONCURRENCY: String(concurrency),
  };
  const metricsPort = await freePort();
  const { service, latency, workersMb } = await withStack({ workers: best.processes, env, workerMetricsPort: metricsPort }, async (stack) => {
    await waitForWorkers(Array.from({ length: best.processes }, (_, i) => metricsPort + i));
    const client = new TriageClient(stack.url, stack.apiKey);
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    // read-only use (status counts, results): the default queue policy is as good as any
    const store = new TicketStore(redis, redisKeys('bench'), queuePolicy(gatewayConfigSchema.parse({})));
    try {
      await measureLatency(client, store, tickets, 20, 1); // warm-up
      log(`\n(b) service, ${best.processes} worker(s) × ${best.threads} thread(s), INFERENCE_MAX_BATCH ${best.batch}, WORKER_CONCURRENCY ${concurrency}`);
      const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
      const service = await measureService(client, store, tickets, config.BENCH_ROUNDS, { workers: stack.workers.map((w) => w.pid), redis: redisPid });
      log(`  ${service.tickets_per_s} tickets/s sustained (${service.tickets} tickets in ${service.seconds} s after the last accept) = ${round(service.tickets_per_s / best.tickets_per_s, 2)} of the ceiling`);
      log(`  CPU per ticket: workers ${service.cpu_ms_per_ticket.workers} ms, Redis ${service.cpu_ms_per_ticket.redis} ms (ceiling: ${best.cpu_ms_per_ticket} ms); served by ${servedByText(service.served_by)}`);
      const latency: LoadRow[] = [];
      for (const fraction of [0.5, 0.8]) {
        const rate = round(service.tickets_per_s * fraction);
        const row = { target_fraction: fraction, offered_per_s: rate, ...(await measureLatency(client, store, tickets, rate, config.BENCH_LOAD_SECONDS)) };
        latency.push(row);
        const p = row.accept_to_processed_ms;
        log(`\n(c) ${fraction * 100} % load (${rate}/s): accept → processed p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms; queue p50 ${row.queue_ms_p50} ms; inference p50 ${row.inference_ms_p50} ms; served by ${servedByText(row.served_by)}`);
      }
      return { service, latency, workersMb: stack.workers.map((w) => rssMb(w.pid)) };
    } finally {
      redis.disconnect();
    }
  });

  // This VM's speed drifts by 10–15 % within minutes: the best layout runs again once the service has
  // stopped, so (b) is also compared with a ceiling measured on the other side of it.
  log('\n(a) again: the best layout, right after (b) and (c)');
  const [recheck] = await measureCeiling(config, sorted, best);

  log(`\n(d) gateway: POST /v2/tickets, ${config.BENCH_GATEWAY_CONNECTIONS} connections, ${config.BENCH_GATEWAY_REQUESTS} requests, no workers`);
  const { gateway, gatewayMb } = await withStack({ workers: 0, env }, async (stack) => {
    const gateway = await measureGateway(stack, tickets, config);
    const afterBurst = rssMb(stack.gateway.pid);
    // V8 keeps the burst's garbage until its memory reducer runs on an idle process (about 20–30 s
    // here): the reading after the burst is what a memory limit must allow, the settled one what it holds.
    await sleep(config.BENCH_SETTLE_SECONDS * 1000);
    return { gateway, gatewayMb: { ...afterBurst, settled: rssMb(stack.gateway.pid).rss, settle_seconds: config.BENCH_SETTLE_SECONDS } };
  });
  log(`  ${gateway.accepts_per_s} accepts/s, p50 ${gateway.latency_ms.p50} ms, p99 ${gateway.latency_ms.p99} ms; gateway RSS ${gatewayMb.rss} MB right after, ${gatewayMb.settled} MB after ${gatewayMb.settle_seconds} s idle`);

  return {
    finished_at: new Date().toISOString(),
    model_version: modelVersion,
    tickets: tickets.length,
    source,
    machine: { cores: config.BENCH_CORES, cpu: cpus()[0]?.model ?? 'unknown', loadavg_before: loadBefore, loadavg_after: loadavg().map((x) => round(x, 2)) },
    config: { batches: config.BENCH_BATCHES, rounds: config.BENCH_ROUNDS, load_seconds: config.BENCH_LOAD_SECONDS, worker_concurrency: concurrency },
    ceiling: { best, rows: ceilingRows, ngram_blend_cpu_ms_per_ticket: blendCpuMs },
    service: { ...service, layout: { processes: best.processes, threads: best.threads, batch: best.batch }, ratio_to_ceiling: round(service.tickets_per_s / best.tickets_per_s, 2),
      ceiling_after: recheck ?? null,
      ratio_to_ceiling_after: recheck ? round(service.tickets_per_s / recheck.tickets_per_s, 2) : null,
      cpu_ratio: round(best.cpu_ms_per_ticket / (service.cpu_ms_per_ticket.workers + service.cpu_ms_per_ticket.redis), 2),
    },
    latency,
    gateway: { ...gateway, connections: config.BENCH_GATEWAY_CONNECTIONS },
    memory: { gateway_mb: gatewayMb, workers_mb: workersMb },
  };
}

function writeResults(result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = result.finished_at.replace(/[:.]/g, '-');
  const table = markdown(result);
  writeFileSync(join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${stamp}.md`), table);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), table);
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(MARK_START);
  const end = readme.indexOf(MARK_END);
  if (start >= 0 && end > start) writeFileSync(README, `${readme.slice(0, start + MARK_START.length)}\n${table}${readme.slice(end)}`);
  return join(RESULTS_DIR, `${stamp}.json`);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => parseEnv(benchConfigSchema));
  const result = await run(config);
  const path = writeResults(result);
  log(`\n${markdown(result)}\nwritten: ${path} (+ .md, bench/results/latest.md, README.md table)`);
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
