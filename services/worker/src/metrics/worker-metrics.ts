import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState, ModelUsed } from '@triage/shared';
import type { InferenceObserver } from '../inference/inference-client';

/** What the worker reports on WORKER_METRICS_PORT /metrics (docs/performance.md lists the series). */
export interface WorkerMetrics {
  readonly register: Registry;
  /** Batches run by the inference thread, and texts dropped because their caller gave up. */
  readonly inference: InferenceObserver;
  /** One ticket's answer: which model produced it and how long the caller waited for it. */
  prediction(modelUsed: ModelUsed, seconds: number): void;
  breakerTransition(from: BreakerState, to: BreakerState): void;
  /** outcome: delivered, already-delivered, unchanged, expired (completed jobs) or retrying/failed. */
  alertDelivery(destination: string, outcome: string): void;
  /** A job attempt failed; `final` when BullMQ will not retry it. */
  jobFailed(queue: string, final: boolean): void;
}

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * One registry per worker (not prom-client's global one), so several workers in one process
 * (tests) never share series. The default metrics include event-loop lag
 * (triage_worker_nodejs_eventloop_lag_seconds and its percentiles), memory and CPU.
 */
export function createWorkerMetrics(): WorkerMetrics {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'triage_worker_' });
  const registers = [register];
  const batchSeconds = new Histogram({
    name: 'triage_inference_batch_duration_seconds',
    help: 'One onnxruntime run on the inference thread (tokenise + run + thread round trip)',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const batchSize = new Histogram({ name: 'triage_inference_batch_size', help: 'Texts per onnxruntime run', buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32], registers });
  const dropped = new Counter({
    name: 'triage_inference_dropped_total',
    help: 'Texts dropped before inference because their latency budget was already spent (the fallback answered)',
    registers,
  });
  const predictionSeconds = new Histogram({
    name: 'triage_inference_latency_seconds',
    help: "A ticket's wait for its prediction (queue on the inference thread + run + blend), by the model that answered",
    labelNames: ['model_used'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const results = new Counter({ name: 'triage_results_total', help: 'Tickets answered, by the model that answered', labelNames: ['model_used'], registers });
  const transitions = new Counter({
    name: 'triage_breaker_transitions_total',
    help: 'Encoder circuit breaker state changes',
    labelNames: ['from', 'to'],
    registers,
  });
  const alerts = new Counter({
    name: 'triage_alert_deliveries_total',
    help: 'Alert job attempts by destination and outcome',
    labelNames: ['destination', 'outcome'],
    registers,
  });
  const failures = new Counter({
    name: 'triage_job_failures_total',
    help: 'Failed job attempts by queue; final = no retry left',
    labelNames: ['queue', 'final'],
    registers,
  });
  return {
    register,
    inference: {
      batch(size, seconds) {
        batchSize.observe(size);
        batchSeconds.observe(seconds);
      },
      dropped: () => dropped.inc(),
    },
    prediction(modelUsed, seconds) {
      results.inc({ model_used: modelUsed });
      predictionSeconds.observe({ model_used: modelUsed }, seconds);
    },
    breakerTransition: (from, to) => transitions.inc({ from, to }),
    alertDelivery: (destination, outcome) => alerts.inc({ destination, outcome }),
    jobFailed: (queue, final) => failures.inc({ queue, final: String(final) }),
  };
}
