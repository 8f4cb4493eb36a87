import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  type Logger,
  QueueName,
  TicketStore,
  type WorkerConfig,
  WorkerRegistry,
  redisKeys,
} from '@triage/shared';
import { resolveActionThresholds } from './action-policy';
import { startHeartbeat } from './heartbeat';
import { InferenceClient } from './inference/inference-client';
import { type TriageProcessorDeps, createTriageProcessor } from './processors/triage.processor';

export interface TriageWorkerHooks {
  onProcessed?: TriageProcessorDeps['onProcessed'];
}

export interface TriageWorkerHandle {
  readonly workerId: string;
  readonly modelVersion: string;
  readonly worker: Worker;
  /** Stops taking jobs, lets in-flight ones finish, then releases the model and Redis. */
  close(): Promise<void>;
}

export async function startTriageWorker(config: WorkerConfig, logger: Logger, hooks: TriageWorkerHooks = {}): Promise<TriageWorkerHandle> {
  const inference = await InferenceClient.start({
    modelDir: config.MODEL_DIR,
    intraOpThreads: config.INTRA_OP_THREADS,
    maxBatch: config.INFERENCE_MAX_BATCH,
  });
  const thresholds = resolveActionThresholds(config, inference.modelConfig.action_thresholds);
  logger.info('model loaded', { model_version: inference.modelVersion, model_dir: config.MODEL_DIR, thresholds });

  const keys = redisKeys(config.REDIS_PREFIX);
  // Workers wait out Redis outages instead of failing commands (BullMQ production guide).
  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  connection.on('error', (err: Error) => logger.warn('redis error', { message: err.message }));
  const store = new TicketStore(connection, keys);

  const processor = createTriageProcessor({
    store,
    predict: (text) => inference.predict(text),
    thresholds,
    lockTtlMs: config.LOCK_TTL_MS,
    lockBusyDelayMs: config.LOCK_BUSY_DELAY_MS,
    logger,
    ...(hooks.onProcessed ? { onProcessed: hooks.onProcessed } : {}),
  });
  const worker = new Worker(QueueName.Tickets, processor, {
    connection,
    prefix: keys.bullPrefix,
    concurrency: config.WORKER_CONCURRENCY,
    name: config.WORKER_ID,
  });
  worker.on('error', (err) => logger.error('worker error', { message: err.message }));
  worker.on('failed', (job, err) => logger.warn('job failed', { job_id: job?.id, error: err.message, attempts: job?.attemptsMade }));
  await worker.waitUntilReady();

  const stopHeartbeat = await startHeartbeat(
    new WorkerRegistry(connection, keys),
    {
      workerId: config.WORKER_ID,
      modelVersion: inference.modelVersion,
      intervalMs: config.HEARTBEAT_INTERVAL_MS,
      ttlMs: config.HEARTBEAT_TTL_MS,
    },
    logger,
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await stopHeartbeat().catch((err: Error) => logger.warn('heartbeat removal failed', { message: err.message }));
      await worker.close();
      await inference.dispose();
      await connection.quit().catch(() => connection.disconnect());
    })());

  return { workerId: config.WORKER_ID, modelVersion: inference.modelVersion, worker, close };
}
