import { UnrecoverableError, Worker } from 'bullmq';
import {
  type BreakerSnapshot,
  type FallbackModel,
  type Logger,
  type ModelConfig,
  QueueName,
  StatsStore,
  TicketStore,
  type TriageModel,
  type WorkerConfig,
  WorkerRegistry,
  type ActiveModel,
  type DriftReference,
  ModelRegistry,
  connectRedis,
  driftReferenceOf,
  followActiveModel,
  loadFallbackModel,
  logRedisConnection,
  queuePolicy,
  readModelConfig,
  redisKeys,
  triageJobSchema,
} from '@triage/shared';
import { resolveActionThresholds } from './action-policy';
import { CircuitBreaker } from './circuit-breaker';
import { startHeartbeat } from './heartbeat';
import { createExplainProcessor } from './explain/explain.processor';
import { TicketExplainer } from './explain/ticket-explainer';
import { jobLockOptions, watchJobEvents } from './job-locks';
import { startThreadedEncoder } from './inference/inference-client';
import { ServedModel } from './inference/served-model';
import { type ModelVersion, SwappableModel } from './inference/swappable-model';
import type { Readiness } from './metrics/metrics-server';
import type { WorkerMetrics } from './metrics/worker-metrics';
import { type TriageProcessorDeps, createTriageProcessor } from './processors/triage.processor';

export interface TriageWorkerHooks {
  onProcessed?: TriageProcessorDeps['onProcessed'];
}

export interface TriageWorkerDeps {
  /** The bundle's n-gram model (and its parsed config.json); loaded from MODEL_DIR when absent. */
  fallback?: FallbackModel;
  /** The encoder; by default the bundle's ONNX model on an inference thread. */
  loadEncoder?: () => Promise<TriageModel>;
  metrics?: WorkerMetrics;
}

export interface TriageWorkerHandle {
  readonly workerId: string;
  readonly modelVersion: string;
  readonly worker: Worker;
  /** Answers `explain` jobs with the same model. */
  readonly explainWorker: Worker;
  breaker(): BreakerSnapshot;
  /** The served version's parsed config.json (null: unusable), e.g. for its alert_threshold. */
  modelConfig(): ModelConfig | null;
  /** The served version and its drift reference, for the drift alarm (they change with a promotion). */
  driftReference(): { modelVersion: string; reference: DriftReference | null };
  /** For /ready: consuming jobs with a working Redis connection. */
  readiness(): Readiness;
  /** Stops taking jobs, lets in-flight ones finish, then releases the model and Redis. */
  close(): Promise<void>;
}

export async function startTriageWorker(
  config: WorkerConfig,
  logger: Logger,
  hooks: TriageWorkerHooks = {},
  deps: TriageWorkerDeps = {},
): Promise<TriageWorkerHandle> {
  const breaker = new CircuitBreaker({ failureThreshold: config.BREAKER_FAILURE_THRESHOLD, cooldownMs: config.BREAKER_COOLDOWN_MS });
  const threadedEncoder = (dir: string, fallback: FallbackModel) => async () =>
    startThreadedEncoder({
      modelDir: dir,
      // an unusable config.json was only skipped by the fallback: reading it again names the fault
      config: fallback.config ?? readModelConfig(dir),
      intraOpThreads: config.INTRA_OP_THREADS,
      maxBatch: config.INFERENCE_MAX_BATCH,
      ...(config.INFERENCE_MAX_BATCH_TOKENS ? { maxBatchTokens: config.INFERENCE_MAX_BATCH_TOKENS } : {}),
      ngram: fallback.ngram,
      ...(deps.metrics ? { observer: deps.metrics.inference } : {}),
    });
  const versionOf = async (dir: string, fallback: FallbackModel, loadEncoder: () => Promise<TriageModel>): Promise<ModelVersion> => {
    const served = await ServedModel.start({ loadEncoder, fallback, breaker, latencyBudgetMs: config.ENCODER_LATENCY_BUDGET_MS });
    return {
      served,
      fallback,
      thresholds: resolveActionThresholds(config, fallback.actionThresholds),
      explainer: new TicketExplainer({ ngram: fallback.ngram, fallbackVersion: fallback.modelVersion, encoder: () => served.healthyEncoder() }),
      driftReference: fallback.config ? driftReferenceOf(fallback.config) : null,
      dir,
    };
  };
  // Without the fallback there is nothing to serve when the encoder fails, so it is required.
  const initialFallback = deps.fallback ?? loadFallbackModel(config.MODEL_DIR);
  const model: SwappableModel = new SwappableModel(
    await versionOf(config.MODEL_DIR, initialFallback, deps.loadEncoder ?? threadedEncoder(config.MODEL_DIR, initialFallback)),
  );
  logger.info('model loaded', { model_version: model.modelVersion, model_dir: config.MODEL_DIR, thresholds: model.thresholds, breaker: breaker.snapshot() });

  /** A promoted version: it must load, carry the promised version and answer with the encoder before it serves. */
  async function loadActive(active: ActiveModel): Promise<void> {
    const fallback = loadFallbackModel(active.dir);
    if (fallback.modelVersion !== active.version) throw new Error(`${active.dir} holds model ${fallback.modelVersion}, not ${active.version}`);
    const encoder = await threadedEncoder(active.dir, fallback)();
    try {
      // Warm-up outside the latency budget and the breaker: a cold session may be slow once, and
      // that must not count against the encoder the worker serves now.
      const [warm] = await encoder.predict(['Warm-up: the invoice for my subscription was charged twice.']);
      if (!warm) throw new Error('the encoder gave no answer to the warm-up ticket');
    } catch (err) {
      await encoder.dispose();
      throw err;
    }
    const next = await versionOf(active.dir, fallback, async () => encoder);
    model.swap(next);
    heartbeat.beatNow();
  }

  const keys = redisKeys(config.REDIS_PREFIX);
  // Workers wait out Redis outages instead of failing commands (BullMQ production guide).
  const connection = connectRedis(config, { kind: 'worker' });
  logRedisConnection(connection, logger, 'triage');
  const store = new TicketStore(connection, keys, queuePolicy(config));

  const processor = createTriageProcessor({
    store,
    predict: async (text) => {
      const started = performance.now();
      const prediction = await model.predict(text);
      deps.metrics?.prediction(prediction.modelUsed, (performance.now() - started) / 1000);
      return prediction;
    },
    // read per ticket: a promotion brings its own thresholds
    thresholds: {
      get autoRoute() {
        return model.thresholds.autoRoute;
      },
      get humanReview() {
        return model.thresholds.humanReview;
      },
    },
    lockTtlMs: config.LOCK_DURATION_MS,
    lockBusyDelayMs: config.LOCK_BUSY_DELAY_MS,
    logger,
    stats: new StatsStore(connection, keys),
    ...(hooks.onProcessed ? { onProcessed: hooks.onProcessed } : {}),
  });
  const worker = new Worker(QueueName.Tickets, processor, {
    connection,
    prefix: keys.bullPrefix,
    concurrency: config.WORKER_CONCURRENCY,
    name: config.WORKER_ID,
    ...jobLockOptions(config),
  });
  // A job BullMQ failed without the processor deciding it (stalled too often) must not leave
  // its ticket `processing` forever; for the others this is a no-op.
  watchJobEvents(worker, logger, async (job, reason) => {
    const ticketId = triageJobSchema.shape.ticket_id.safeParse((job.data as { ticket_id?: unknown } | null)?.ticket_id);
    if (!ticketId.success) return;
    const moved = await store.transition(ticketId.data, ['pending', 'processing'], 'failed', { error: reason, failed_at: new Date().toISOString() });
    if (moved?.applied) logger.warn('ticket marked failed', { ticket_id: ticketId.data, job_id: job.id, error: reason });
  });
  worker.on('failed', (job, err) =>
    deps.metrics?.jobFailed(QueueName.Tickets, err instanceof UnrecoverableError || (job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true)),
  );
  await worker.waitUntilReady();

  const explainWorker = new Worker(QueueName.Explain, createExplainProcessor({ explain: (job) => model.explainer.explain(job) }), {
    connection,
    prefix: keys.bullPrefix,
    // explanations are on demand and each one is already a batch of encoder runs
    concurrency: 1,
    name: config.WORKER_ID,
    ...jobLockOptions(config),
  });
  explainWorker.on('error', (err) => logger.error('explain worker error', { message: err.message }));
  await explainWorker.waitUntilReady();

  const heartbeat = await startHeartbeat(
    new WorkerRegistry(connection, keys),
    {
      workerId: config.WORKER_ID,
      intervalMs: config.HEARTBEAT_INTERVAL_MS,
      ttlMs: config.HEARTBEAT_TTL_MS,
      status: () => ({ modelVersion: model.modelVersion, breaker: breaker.snapshot() }),
    },
    logger,
  );
  breaker.onChange((snapshot, previous) => {
    const level = snapshot.state === 'closed' ? 'info' : 'warn';
    logger.log(level, `encoder circuit breaker ${previous} → ${snapshot.state}`, { breaker: snapshot });
    deps.metrics?.breakerTransition(previous, snapshot.state);
    heartbeat.beatNow();
  });

  // Every worker converges on the promoted version: announcements, plus a poll for missed ones.
  const follower = await followActiveModel({
    registry: new ModelRegistry(connection, keys),
    subscriber: connection.duplicate(),
    channel: keys.modelEvents,
    pollIntervalMs: config.MODEL_POLL_INTERVAL_MS,
    processId: `worker:${config.WORKER_ID}`,
    current: () => model.modelVersion,
    load: loadActive,
    logger,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await heartbeat.stop().catch((err: Error) => logger.warn('heartbeat removal failed', { message: err.message }));
      await Promise.all([worker.close(), explainWorker.close()]);
      await follower.stop();
      await model.close();
      await connection.quit().catch(() => connection.disconnect());
    })());

  return {
    workerId: config.WORKER_ID,
    get modelVersion() {
      return model.modelVersion;
    },
    worker,
    explainWorker,
    breaker: () => breaker.snapshot(),
    modelConfig: () => model.fallback.config,
    driftReference: () => ({ modelVersion: model.modelVersion, reference: model.driftReference }),
    readiness: () => ({
      ready: closing === undefined && worker.isRunning() && connection.status === 'ready',
      redis: connection.status,
      breaker: breaker.snapshot().state,
      model_version: model.modelVersion,
    }),
    close,
  };
}
