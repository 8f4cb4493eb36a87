import { type Server, createServer } from 'node:http';
import { hostname } from 'node:os';
import {
  AlertLog,
  ApiKeyStore,
  TicketStore,
  WorkerRegistry,
  createLogger,
  loadConfigOrExit,
  loadGatewayConfig,
  logRedisConnection,
  queuePolicy,
  redisKeys,
  ModelRegistry,
  SCOPES,
  connectRedis,
  followActiveModel,
  stopOnSignals,
} from '@triage/shared';
import { appSettings, createApp } from './app';
import { answerClientErrorsAsJson } from './client-errors';
import { ExplainRequests } from './explain/explain-requests';
import { ModelComparisons } from './models/model-comparisons';
import { connectProducerRedis, createTicketsQueue } from './connections';
import { type ModelMetrics, loadModelMetrics } from './metrics/model-metrics';
import { loadFallbackState, promoteFallbackState } from './v1/fallback-state';

const config = loadConfigOrExit(() => loadGatewayConfig());
const logger = createLogger('gateway', config.LOG_LEVEL);
const keys = redisKeys(config.REDIS_PREFIX);
const redis = connectProducerRedis(config);
const ticketsQueue = createTicketsQueue(redis, config);

logRedisConnection(redis, logger, 'gateway');
// Queue errors are connection errors of the same connection, already reported above.
ticketsQueue.on('error', (err: Error) => logger.debug('queue error', { error: err.message }));
const explain = new ExplainRequests(redis, config);
// Connection errors of the shared connection are already reported above.
explain.onError((err: Error) => logger.debug('explain queue error', { error: err.message }));
const comparisons = new ModelComparisons(redis, keys, { python: config.MODEL_COMPARE_PYTHON, timeoutMs: config.MODEL_COMPARE_TIMEOUT_MS }, logger);

const fallback = loadFallbackState(config.MODEL_DIR);
if (fallback.status === 'ready') logger.info('model bundle checked', { model_version: fallback.bundle.modelVersion, model_dir: config.MODEL_DIR });
else logger.error('v1 model unavailable: /v1 answers 503', { error: fallback.detail });

let modelMetrics: ModelMetrics | null = null;
try {
  modelMetrics = loadModelMetrics(config.MODEL_DIR);
} catch (err) {
  logger.warn('model metrics unavailable: GET /metrics (JSON) answers 503', { error: (err as Error).message });
}

const apiKeys = new ApiKeyStore(redis, keys);

// BOOTSTRAP_API_KEY: a fresh deployment's first key (docs/deployment.md). Retried until Redis answers;
// only the key's id is ever logged.
async function ensureBootstrapKey(key: string): Promise<void> {
  for (;;) {
    // The producer connection has no offline queue: wait for it instead of failing the first try.
    if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
    try {
      const { id, status } = await apiKeys.ensure(key, 'bootstrap', SCOPES);
      if (status === 'revoked') logger.warn('BOOTSTRAP_API_KEY is revoked: it stays revoked', { key_id: id });
      else logger.info(`bootstrap API key ${status === 'created' ? 'stored' : 'already present'}`, { key_id: id });
      return;
    } catch (err) {
      logger.error('could not store BOOTSTRAP_API_KEY, retrying in 5s', { error: (err as Error).message });
      await new Promise((r) => setTimeout(r, 5000).unref());
    }
  }
}
if (config.BOOTSTRAP_API_KEY) void ensureBootstrapKey(config.BOOTSTRAP_API_KEY);

const app = createApp({
  redis,
  store: new TicketStore(redis, keys, queuePolicy(config)),
  alertLog: new AlertLog(redis, keys),
  registry: new WorkerRegistry(redis, keys),
  keys,
  ticketsQueue,
  logger,
  ...appSettings(config),
  fallback,
  modelMetrics,
  apiKeys,
  explain,
  comparisons,
});

if (config.AUTH === 'off') {
  const banner = '!'.repeat(78);
  logger.warn(`${banner}\nAUTH=off: the API is OPEN. Anyone who can reach port ${config.PORT} can read every ticket,\ntake tickets from agents and operate the service. Use AUTH=on (the default) with API keys.\n${banner}`);
}

// /v1's n-gram model (and the drift reference) follow `npm run model -- promote` like the workers.
const follower = followActiveModel({
  registry: new ModelRegistry(redis, keys),
  subscriber: connectRedis(config, { kind: 'worker' }),
  channel: keys.modelEvents,
  pollIntervalMs: config.MODEL_POLL_INTERVAL_MS,
  processId: `gateway:${hostname()}:${process.pid}`,
  current: () => (fallback.status === 'ready' ? fallback.bundle.modelVersion : 'none'),
  load: async (active) => promoteFallbackState(fallback, active.dir, active.version),
  logger,
});

const server: Server = createServer(app).listen(config.PORT, config.HOST, () => {
  logger.info('gateway listening', { url: `http://${config.HOST}:${config.PORT}`, prefix: config.REDIS_PREFIX });
});
answerClientErrorsAsJson(server);

stopOnSignals(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  await (await follower).stop();
  await ticketsQueue.close();
  await explain.close();
  comparisons.close();
  await redis.quit().catch(() => redis.disconnect());
});
