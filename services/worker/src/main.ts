import { createLogger, loadConfigOrExit, loadFallbackModel, loadWorkerConfig, stopOnSignals } from '@triage/shared';
import { loadAlertDestinations } from './alerts/alert-destinations';
import { startAlerts } from './alerts/alerts-runtime';
import { startTriageWorker } from './triage-worker';

const config = loadConfigOrExit(() => loadWorkerConfig());
const logger = createLogger('worker', config.LOG_LEVEL).child({ worker_id: config.WORKER_ID });

async function main(): Promise<void> {
  // Without the fallback there is nothing to serve when the encoder fails, so it is required.
  const fallback = loadFallbackModel(config.MODEL_DIR);
  const alertDestinations = loadConfigOrExit(() => loadAlertDestinations(config, fallback.config));
  const alerts = await startAlerts(config, alertDestinations, logger);
  const handle = await startTriageWorker(config, logger, { onProcessed: alerts.onProcessed }, { fallback });
  logger.info('worker ready', {
    model_version: handle.modelVersion,
    concurrency: config.WORKER_CONCURRENCY,
    alert_destinations: alertDestinations.map((d) => `${d.id} (${d.type}, threshold ${d.threshold})`),
  });

  stopOnSignals(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Triage first: its last tickets may still enqueue alerts.
    await handle.close();
    await alerts.close();
  });
}

main().catch((err: unknown) => {
  logger.error('worker failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
