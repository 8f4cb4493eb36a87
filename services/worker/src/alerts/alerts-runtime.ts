import { Queue, UnrecoverableError, Worker } from 'bullmq';
import {
  type AlertJobData,
  AlertLog,
  type Logger,
  type TicketResponse,
  type WorkerConfig,
  alertJobSchema,
  alertLogKindOf,
  alertsQueueName,
  connectRedis,
  logRedisConnection,
  redisKeys,
} from '@triage/shared';
import { jobLockOptions, watchJobEvents } from '../job-locks';
import type { WorkerMetrics } from '../metrics/worker-metrics';
import { type AlertDestination, fixedModelAlertThreshold } from './alert-destinations';
import { createAlertEnqueuer, createDriftAlertEnqueuer, createSlaAlertEnqueuer } from './alert-enqueuer';
import { type AlertJobResult, createAlertProcessor } from './alert.processor';
import { createRedactor } from './redact';
import { StormStore } from './storm-store';
import { createWebhookHttp } from './webhook-delivery';

export interface AlertsRuntime {
  /** Pass to the triage worker as its `onProcessed` hook. */
  onProcessed: (ticket: TicketResponse, prediction?: { embedding?: readonly number[] }) => Promise<void>;
  /** For the maintenance sweep: SLA warning/breach alerts of a ticket still waiting for an agent. */
  onSla: ReturnType<typeof createSlaAlertEnqueuer>;
  /** For the maintenance sweep's drift alarm: a signal that reached PSI 0.25. */
  onDrift: ReturnType<typeof createDriftAlertEnqueuer>;
  readonly workers: ReadonlyMap<string, Worker>;
  readonly queues: ReadonlyMap<string, Queue<AlertJobData>>;
  close(): Promise<void>;
}

// Deliveries are I/O-bound and the limiter paces them; a few in flight hide a slow receiver.
const ALERT_CONCURRENCY = 4;

/**
 * Queues and workers for every configured destination: one BullMQ queue each, because the
 * limiter (and a 429's manual rate limit) applies per queue, and open-source BullMQ has no
 * per-group limiter. Bursts wait in the queue instead of being dropped.
 */
export async function startAlerts(
  config: WorkerConfig,
  destinations: readonly AlertDestination[],
  logger: Logger,
  metrics?: Pick<WorkerMetrics, 'alertDelivery' | 'jobFailed'>,
  /** The served model's alert_threshold (the triage worker's, which follows promotions). */
  modelThreshold: () => number = fixedModelAlertThreshold(config),
): Promise<AlertsRuntime> {
  const keys = redisKeys(config.REDIS_PREFIX);
  const connection = connectRedis(config, { kind: 'worker' });
  logRedisConnection(connection, logger, 'alerts');
  const log = new AlertLog(connection, keys);
  const storm = new StormStore(connection, keys, { size: config.STORM_SIZE, windowMs: config.STORM_WINDOW_MS, similarity: config.STORM_SIMILARITY });
  const redact = createRedactor(destinations);

  const queues = new Map(destinations.map((d) => [d.id, new Queue<AlertJobData>(alertsQueueName(d.id), { connection, prefix: keys.bullPrefix })]));
  // Without a listener BullMQ prints every connection error to stderr; logRedisConnection reports them.
  for (const queue of queues.values()) queue.on('error', (err: Error) => logger.debug('alert queue error', { error: err.message }));
  const http = createWebhookHttp();
  const processor = createAlertProcessor({
    destinations: new Map(destinations.map((d) => [d.id, d])),
    log,
    storm,
    http,
    timeoutMs: config.ALERT_TIMEOUT_MS,
    render: { publicUrl: config.PUBLIC_URL },
    incidentUpdateMs: config.STORM_UPDATE_MS,
    rateLimit: (id, ms) => queues.get(id)!.rateLimit(ms),
    redact,
    logger,
  });
  const workers = new Map(
    destinations.map((d) => {
      const worker = new Worker(alertsQueueName(d.id), processor, {
        connection,
        prefix: keys.bullPrefix,
        concurrency: ALERT_CONCURRENCY,
        limiter: { max: d.rateLimit.max, duration: d.rateLimit.durationMs },
        name: `${config.WORKER_ID}-alerts`,
        ...jobLockOptions(config),
      });
      // The processor records its own failures in the alert log; a job failed for stalling is
      // one whose sends may have happened, so it is recorded as failed with that reason.
      watchJobEvents(
        worker,
        logger,
        async (job, reason) => {
          const parsed = alertJobSchema.safeParse(job.data);
          const kind = parsed.success ? alertLogKindOf(parsed.data) : null;
          if (!parsed.success || kind === null || parsed.data.kind === 'incident' || parsed.data.kind === 'drift') return;
          const data = parsed.data;
          const entry = await log.get(data.ticket.ticket_id, d.id, kind);
          if (entry && entry.status !== 'delivered' && entry.status !== 'failed') await log.update(data.ticket.ticket_id, d.id, { status: 'failed', last_error: reason }, kind);
        },
        { queue: alertsQueueName(d.id), redact },
      );
      worker.on('failed', (job, err) => {
        const final = err instanceof UnrecoverableError || (job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true);
        metrics?.alertDelivery(d.id, final ? 'failed' : 'retrying');
        metrics?.jobFailed(alertsQueueName(d.id), final);
      });
      worker.on('completed', (_job, result: AlertJobResult) => metrics?.alertDelivery(d.id, result.outcome));
      return [d.id, worker] as const;
    }),
  );
  await Promise.all([...workers.values()].map((w) => w.waitUntilReady()));

  const onProcessed = createAlertEnqueuer({
    destinations,
    queues,
    log,
    storm,
    attempts: config.ALERT_ATTEMPTS,
    backoffMs: config.ALERT_BACKOFF_MS,
    stormSettleMs: config.STORM_SETTLE_MS,
    stormUpdateMs: config.STORM_UPDATE_MS,
    modelThreshold,
    logger,
  });

  const onSla = createSlaAlertEnqueuer({ destinations, queues, log, attempts: config.ALERT_ATTEMPTS, backoffMs: config.ALERT_BACKOFF_MS, logger });
  const onDrift = createDriftAlertEnqueuer({ destinations, queues, attempts: config.ALERT_ATTEMPTS, backoffMs: config.ALERT_BACKOFF_MS, logger });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([...workers.values()].map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
      // After the workers: no delivery is in flight on the sockets this drops.
      http.close();
    })());

  return { onProcessed, onSla, onDrift, workers, queues, close };
}
