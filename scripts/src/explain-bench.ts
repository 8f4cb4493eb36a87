/**
 * `npm run bench:explain`: how long GET /v2/tickets/:id/explain makes the worker compute, on the
 * model's held-back tickets, with the encoder exactly as a worker serves it (one inference thread,
 * one onnxruntime thread: one core). Prints the p50/p90/max of the explanation and, for scale, of a
 * single prediction of the same tickets measured in the same run, plus the load average (the figures
 * only mean something on an otherwise idle machine).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { errorMessage, loadFallbackModel, ticketText } from '@triage/shared';
import { startThreadedEncoder } from '@triage/worker/dist/inference/inference-client';
import { TicketExplainer } from '@triage/worker/dist/explain/ticket-explainer';
import { loadSampleTickets } from './ticket-samples';

const COUNT = Number(process.env.EXPLAIN_BENCH_TICKETS ?? 60);
const MODEL_DIR = process.env.MODEL_DIR ?? 'models/triage';

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

async function main(): Promise<void> {
  const fallback = loadFallbackModel(MODEL_DIR);
  if (!fallback.config) throw new Error(`${MODEL_DIR}/config.json is missing or invalid`);
  const encoder = await startThreadedEncoder({ modelDir: MODEL_DIR, config: fallback.config, intraOpThreads: 1, maxBatch: 8, ngram: fallback.ngram });
  const explainer = new TicketExplainer({ ngram: fallback.ngram, fallbackVersion: fallback.modelVersion, encoder: () => encoder });
  const { source, tickets } = loadSampleTickets(COUNT);
  const single: number[] = [];
  const explain: number[] = [];
  try {
    for (const [i, t] of tickets.entries()) {
      let start = performance.now();
      await encoder.predict([ticketText(t.subject, t.body)]);
      single.push(performance.now() - start);
      start = performance.now();
      await explainer.explain({ ticket_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ...(t.subject ? { subject: t.subject } : {}), body: t.body });
      explain.push(performance.now() - start);
    }
  } finally {
    await encoder.dispose();
  }
  const row = (name: string, xs: number[]) => `${name.padEnd(22)} p50 ${quantile(xs, 0.5).toFixed(1).padStart(7)} ms  p90 ${quantile(xs, 0.9).toFixed(1).padStart(7)} ms  max ${Math.max(...xs).toFixed(1).padStart(7)} ms`;
  console.log(`${tickets.length} tickets from ${source}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(row('single prediction', single));
  console.log(row('explanation', explain));
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
