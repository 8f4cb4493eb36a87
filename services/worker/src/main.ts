import { createLogger, loadConfigOrExit, loadWorkerConfig } from '@triage/shared';
import { loadAlertDestinations } from './alerts/alert-destinations';
import { startAlerts } from './alerts/alerts-runtime';
import { startTriageWorker } from './triage-worker';

const config = loadConfigOrExit(() => loadWorkerConfig());
const alertDestinations = loadConfigOrExit(() => loadAlertDestinations(config));
const logger = createLogger('worker', config.LOG_LEVEL).child({ worker_id: config.WORKER_ID });

async function main(): Promise<void> {
  const alerts = await startAlerts(config, alertDestinations, logger);
  const handle = await startTriageWorker(config, logger, { onProcessed: alerts.onProcessed });
  logger.info('worker ready', {
    model_version: handle.modelVersion,
    concurrency: config.WORKER_CONCURRENCY,
    alert_destinations: alertDestinations.map((d) => `${d.id} (${d.type})`),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    // A terminal Ctrl-C reaches both the launcher and this process; act on the first signal only.
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: finishing in-flight jobs', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown timed out, exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    // Triage first: its last tickets may still enqueue alerts.
    await handle.close();
    await alerts.close();
    clearTimeout(force);
    logger.info('worker stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
}

main().catch((err: unknown) => {
  logger.error('worker failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
