import type { Job, Worker, WorkerOptions } from 'bullmq';
import { type Logger, type WorkerConfig, isRedisUnavailable, throttledLog } from '@triage/shared';

/** BullMQ's lock and stall settings from the worker config, the same for every queue this worker serves. */
export function jobLockOptions(config: Pick<WorkerConfig, 'LOCK_DURATION_MS' | 'STALLED_INTERVAL_MS' | 'MAX_STALLED_COUNT'>) {
  return {
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  } satisfies Partial<WorkerOptions>;
}

/** BullMQ's reason for a job whose workers died more than maxStalledCount times while holding it. */
export const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * Logs a worker's events: connection trouble as a throttled warning (logRedisConnection tells
 * when it ends), stalled-job recoveries (a dead worker's job handed back to the queue) and final
 * failures; calls `onFinalFailure` for jobs BullMQ gave up on — including the ones failed for
 * stalling, which never reach the processor's own error handling.
 */
export function watchJobEvents(
  worker: Worker,
  logger: Logger,
  onFinalFailure: (job: Job, reason: string) => Promise<void>,
  { queue = worker.name, redact = (text: string) => text }: { queue?: string; redact?: (text: string) => string } = {},
): void {
  const connectionTrouble = throttledLog(logger, 'warn', 'worker waiting for redis', 30_000);
  worker.on('error', (err) => (isRedisUnavailable(err) ? connectionTrouble({ queue, error: redact(err.message) }) : logger.error('worker error', { queue, error: redact(err.message), stack: err.stack })));
  worker.on('stalled', (jobId) => logger.warn('stalled job recovered: its worker stopped renewing the lock, job back in the queue', { queue, job_id: jobId }));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = job.finishedOn !== undefined;
    const stalled = err.message === STALLED_TOO_OFTEN;
    logger.warn(final ? 'job failed for good' : 'job attempt failed, will retry', {
      queue,
      job_id: job.id,
      attempts: job.attemptsMade,
      error: redact(err.message),
      ...(stalled ? { stalled_count: job.stalledCounter } : {}),
    });
    if (final) onFinalFailure(job, redact(err.message)).catch((e: unknown) => logger.error('recording a failed job failed', { queue, job_id: job.id, err: e }));
  });
}
