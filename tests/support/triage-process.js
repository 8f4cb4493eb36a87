// A triage worker in its own process (compiled code, as in production), for tests that kill it
// with SIGKILL. Configured through env like the real worker. TEST_ENCODER=hang swaps in an
// encoder whose predictions never return, so a job is reliably in flight when the process dies.
const { join } = require('node:path');
const { silentLogger, workerConfigSchema } = require('@triage/shared');

const { startTriageWorker } = require(join(__dirname, '..', '..', 'services', 'worker', 'dist', 'triage-worker'));

const hangingEncoder = {
  modelVersion: 'hanging-encoder',
  labels: [],
  config: {},
  predict: () => new Promise(() => undefined),
  dispose: async () => undefined,
};

const config = workerConfigSchema.parse(process.env);
const deps = process.env.TEST_ENCODER === 'hang' ? { loadEncoder: async () => hangingEncoder } : {};
startTriageWorker(config, silentLogger(), {}, deps).then(
  () => process.send?.('ready'),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
