// A worker process with only the alert side running (compiled code, as in production), for
// tests that kill it with SIGKILL. Configured through env like the real worker.
const { join } = require('node:path');
const { silentLogger, workerConfigSchema } = require('@triage/shared');

const dist = join(__dirname, '..', '..', 'services', 'worker', 'dist', 'alerts');
const { loadAlertDestinations } = require(join(dist, 'alert-destinations'));
const { startAlerts } = require(join(dist, 'alerts-runtime'));

const config = workerConfigSchema.parse(process.env);
startAlerts(config, loadAlertDestinations(config), silentLogger()).then(
  () => process.send?.('ready'),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
