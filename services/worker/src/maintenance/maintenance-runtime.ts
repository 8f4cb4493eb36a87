import { Queue, Worker } from 'bullmq';
import {
  JobName,
  type DriftReference,
  type Logger,
  QueueName,
  StatsStore,
  TicketStore,
  type TriageJobData,
  type WorkerConfig,
  connectRedis,
  logRedisConnection,
  queuePolicy,
  redisKeys,
} from '@triage/shared';
import type { AlertsRuntime } from '../alerts/alerts-runtime';
import { jobLockOptions, watchJobEvents } from '../job-locks';
import { DriftAlarm } from './drift-alarm';
import { createMaintenanceProcessor } from './maintenance.processor';
import { createMaintenanceSweep } from './maintenance-sweep';

export interface MaintenanceRuntime {
  /** One sweep now (tests, shutdown-free checks); the scheduler runs the same function. */
  sweep: ReturnType<typeof createMaintenanceSweep>;
  close(): Promise<void>;
}

const SCHEDULER_ID = 'maintenance-sweep';

/**
 * A BullMQ job scheduler fires one `maintenance` job every MAINTENANCE_INTERVAL_MS; whichever
 * worker takes it sweeps, so N workers do not sweep N times. Every worker upserts the same
 * scheduler, which is idempotent, and keeps it alive as long as any worker runs.
 */
export async function startMaintenance(
  config: WorkerConfig,
  logger: Logger,
  alerts: Pick<AlertsRuntime, 'onSla' | 'onDrift'>,
  /** The served model's version and drift reference (the triage worker's, which follows promotions). */
  driftReference: () => { modelVersion: string; reference: DriftReference | null },
): Promise<MaintenanceRuntime> {
  const keys = redisKeys(config.REDIS_PREFIX);
  const connection = connectRedis(config, { kind: 'worker' });
  logRedisConnection(connection, logger, 'maintenance');
  const log = logger.child({ component: 'maintenance' });
  const store = new TicketStore(connection, keys, queuePolicy(config));
  const ticketsQueue = new Queue<TriageJobData>(QueueName.Tickets, { connection, prefix: keys.bullPrefix });
  const maintenanceQueue = new Queue(QueueName.Maintenance, { connection, prefix: keys.bullPrefix });

  const stats = new StatsStore(connection, keys);
  const drift = new DriftAlarm({
    redis: connection,
    keys,
    stats,
    reference: driftReference,
    window: config.DRIFT_ALERT_WINDOW,
    minSamples: config.DRIFT_MIN_SAMPLES,
    onDrift: alerts.onDrift,
  });
  const sweep = createMaintenanceSweep({
    store,
    stats,
    ticketsQueue,
    onSla: alerts.onSla,
    drift,
    logger: log,
    settings: {
      slaWarnBeforeMs: config.SLA_WARN_BEFORE_MS,
      pendingReconcileAfterMs: config.PENDING_RECONCILE_AFTER_MS,
      feedbackRetentionDays: config.FEEDBACK_RETENTION_DAYS,
      jobAttempts: config.JOB_ATTEMPTS,
      jobBackoffMs: config.JOB_BACKOFF_MS,
    },
  });
  await maintenanceQueue.upsertJobScheduler(
    SCHEDULER_ID,
    { every: config.MAINTENANCE_INTERVAL_MS },
    { name: JobName.Maintenance, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } } },
  );
  const worker = new Worker(QueueName.Maintenance, createMaintenanceProcessor(() => sweep()), {
    connection,
    prefix: keys.bullPrefix,
    concurrency: 1,
    name: `${config.WORKER_ID}-maintenance`,
    ...jobLockOptions(config),
  });
  // A failed sweep is simply the next tick's work; nothing to record beyond the log.
  watchJobEvents(worker, log, async () => undefined, { queue: QueueName.Maintenance });
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await worker.close();
      await Promise.all([ticketsQueue.close(), maintenanceQueue.close()]);
      await connection.quit().catch(() => connection.disconnect());
    })());
  return { sweep, close };
}
