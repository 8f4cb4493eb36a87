/**
 * `npm run bench`: starts its own stack (embedded Redis with AOF, gateway, workers — real
 * processes and the shipped model) and measures accept→processed latency and throughput.
 * Latency = processed_at − accepted_at, both stamped by the services.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type TicketResponse, loadConfigOrExit, parseEnv } from '@triage/shared';
import { TriageClient } from './client';
import { freePort } from './embedded-redis';
import { startStack } from './stack';
import { loadSampleTickets } from './ticket-samples';

const benchConfigSchema = z.object({
  BENCH_TICKETS: z.coerce.number().int().min(1).default(400),
  BENCH_SEQUENTIAL: z.coerce.number().int().min(1).default(50),
  BENCH_CONCURRENCY: z.coerce.number().int().min(1).default(32),
  WORKERS: z.coerce.number().int().min(1).default(availableParallelism()),
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const latency = (t: TicketResponse) => Date.parse(t.processed_at!) - Date.parse(t.accepted_at);

function summary(label: string, values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `${label.padEnd(34)} p50 ${percentile(s, 50).toFixed(1).padStart(8)} ms   p95 ${percentile(s, 95).toFixed(1).padStart(8)} ms   max ${s.at(-1)!.toFixed(1).padStart(8)} ms   mean ${mean.toFixed(1).padStart(8)} ms`;
}

/** The encoder's circuit breaker may hand tickets to the n-gram fallback under load. */
function servedBy(tickets: TicketResponse[]): string {
  const counts = new Map<string, number>();
  for (const t of tickets) counts.set(t.model_used ?? 'unknown', (counts.get(t.model_used ?? 'unknown') ?? 0) + 1);
  return [...counts].map(([model, n]) => `${model} ${n}`).join(', ');
}

async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => parseEnv(benchConfigSchema));
  const dataDir = mkdtempSync(join(tmpdir(), 'triage-bench-'));
  const stack = await startStack({
    redisDataDir: dataDir,
    port: await freePort(),
    workers: config.WORKERS,
    env: { REDIS_PREFIX: 'bench', LOG_LEVEL: 'warn' },
    quiet: true,
    keyName: 'bench',
  });
  const client = new TriageClient(stack.url, stack.apiKey);
  try {
    const { source, tickets } = loadSampleTickets(Math.max(config.BENCH_TICKETS, config.BENCH_SEQUENTIAL));
    const payload = (i: number) => {
      const t = tickets[i % tickets.length]!;
      return t.subject ? { subject: t.subject, body: t.body } : { body: t.body };
    };
    console.log(`Triage benchmark: ${config.WORKERS} worker process(es), tickets from ${source}`);

    for (let i = 0; i < 10; i += 1) await client.settled(await client.submit(payload(i)), 5); // warm-up

    const sequential: TicketResponse[] = [];
    for (let i = 0; i < config.BENCH_SEQUENTIAL; i += 1) sequential.push(await client.settled(await client.submit(payload(i)), 5));
    console.log(`\nOne ticket at a time (${sequential.length} tickets):`);
    console.log(summary('accept → processed', sequential.map(latency)));
    console.log(summary('  of which queue wait', sequential.map((t) => t.timings!.queue_ms)));
    console.log(summary('  of which inference', sequential.map((t) => t.timings!.inference_ms)));
    console.log(`served by: ${servedBy(sequential)}`);

    const postMs: number[] = [];
    const started = Date.now();
    const ids = await inParallel(Array.from({ length: config.BENCH_TICKETS }, (_, i) => i), config.BENCH_CONCURRENCY, async (i) => {
      const t0 = performance.now();
      const id = await client.submit(payload(i));
      postMs.push(performance.now() - t0);
      return id;
    });
    const acceptedIn = Date.now() - started;
    const burst = await inParallel(ids, 16, (id) => client.settled(id, 50));
    const lastProcessed = Math.max(...burst.map((t) => Date.parse(t.processed_at!)));
    const seconds = (lastProcessed - started) / 1000;
    console.log(`\nBurst of ${ids.length} tickets (${config.BENCH_CONCURRENCY} concurrent POSTs, accepted in ${(acceptedIn / 1000).toFixed(2)} s):`);
    console.log(summary('POST /v2/tickets (client-side)', postMs));
    console.log(summary('accept → processed', burst.map(latency)));
    console.log(summary('  of which inference', burst.map((t) => t.timings!.inference_ms)));
    console.log(`throughput: ${(ids.length / seconds).toFixed(1)} tickets/s (${ids.length} in ${seconds.toFixed(2)} s, first POST → last result)`);
    console.log(`failed: ${burst.filter((t) => t.status === 'failed').length}; served by: ${servedBy(burst)}`);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
