import { createLogger, errorMessage, loadConfigOrExit, loadFallbackModel, loadWorkerConfig, stopOnSignals } from '@triage/shared';
import { loadAlertDestinations, modelAlertThreshold } from './alerts/alert-destinations';
import { startAlerts } from './alerts/alerts-runtime';
import { startMaintenance } from './maintenance/maintenance-runtime';
import { startMetricsServer } from './metrics/metrics-server';
import { createWorkerMetrics } from './metrics/worker-metrics';
import { type TriageWorkerHandle, startTriageWorker } from './triage-worker';

const config = loadConfigOrExit(() => loadWorkerConfig());
const logger = createLogger('worker', config.LOG_LEVEL).child({ worker_id: config.WORKER_ID });

async function main(): Promise<void> {
  const metrics = createWorkerMetrics();
  let handle: TriageWorkerHandle | undefined;
  // Up before the model loads: /health answers at once, /ready only once jobs are consumed.
  const server = await startMetricsServer({
    port: config.WORKER_METRICS_PORT,
    host: config.WORKER_METRICS_HOST,
    register: metrics.register,
    readiness: () => handle?.readiness() ?? { ready: false, reason: 'starting' },
  });
  logger.info('metrics listening', { port: server.port, paths: ['/metrics', '/health', '/ready'] });

  // Without the fallback there is nothing to serve when the encoder fails, so it is required.
  const fallback = loadFallbackModel(config.MODEL_DIR);
  const alertDestinations = loadConfigOrExit(() => loadAlertDestinations(config));
  // The served version's threshold: a promotion brings its own.
  const alerts = await startAlerts(config, alertDestinations, logger, metrics, () => modelAlertThreshold(handle ? handle.modelConfig() : fallback.config));
  handle = await startTriageWorker(config, logger, { onProcessed: alerts.onProcessed }, { fallback, metrics });
  const started = handle;
  const maintenance = await startMaintenance(config, logger, alerts, () => started.driftReference());
  logger.info('worker ready', {
    model_version: started.modelVersion,
    concurrency: config.WORKER_CONCURRENCY,
    alert_destinations: alertDestinations.map((d) => `${d.id} (${d.type}, threshold ${d.threshold ?? `model ${modelAlertThreshold(started.modelConfig())}`})`),
  });

  stopOnSignals(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Triage first: its last tickets may still enqueue alerts.
    await started.close();
    await maintenance.close();
    await alerts.close();
    await server.close();
  });
}

main().catch((err: unknown) => {
  logger.error('worker failed to start', { error: errorMessage(err) });
  process.exit(1);
});
