import { AlertLog, ApiKeyStore, TicketStore, WorkerRegistry, gatewayConfigSchema, queuePolicy, redisKeys, silentLogger } from '@triage/shared';
import { appSettings, createApp } from '../../services/gateway/src/app';
import { ExplainRequests } from '../../services/gateway/src/explain/explain-requests';
import { ModelComparisons } from '../../services/gateway/src/models/model-comparisons';
import { connectProducerRedis, createTicketsQueue } from '../../services/gateway/src/connections';
import { type ModelMetrics, loadModelMetrics } from '../../services/gateway/src/metrics/model-metrics';
import { type FallbackState, loadFallbackState } from '../../services/gateway/src/v1/fallback-state';
import { testRedisUrl } from './test-redis';

// Decoding ngram.json takes a while; a test file builds many gateways on the same model directory.
const fallbacks = new Map<string, FallbackState>();

function modelMetricsOrNull(modelDir: string): ModelMetrics | null {
  try {
    return loadModelMetrics(modelDir);
  } catch {
    return null;
  }
}

/**
 * A gateway app wired exactly like main.ts, on its own prefix. AUTH is off unless `env` says
 * `AUTH: 'on'`: most component tests are about something else, and the auth tests (and e2e,
 * which runs the real defaults) turn it on. `queueRedisUrl` puts the job queue on another
 * Redis, to fail the enqueue alone.
 */
export function buildGateway(prefix: string, redisUrl = testRedisUrl(), env: Record<string, string> = {}, queueRedisUrl?: string) {
  const config = gatewayConfigSchema.parse({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, AUTH: 'off', ...env });
  const keys = redisKeys(prefix);
  const redis = connectProducerRedis(config);
  redis.on('error', () => undefined);
  const queueRedis = queueRedisUrl ? connectProducerRedis({ ...config, REDIS_URL: queueRedisUrl }) : redis;
  queueRedis.on('error', () => undefined);
  const ticketsQueue = createTicketsQueue(queueRedis, config);
  ticketsQueue.on('error', () => undefined);
  const store = new TicketStore(redis, keys, queuePolicy(config));
  const registry = new WorkerRegistry(redis, keys);
  const alertLog = new AlertLog(redis, keys);
  const apiKeys = new ApiKeyStore(redis, keys);
  if (!fallbacks.has(config.MODEL_DIR)) fallbacks.set(config.MODEL_DIR, loadFallbackState(config.MODEL_DIR));
  const fallback = fallbacks.get(config.MODEL_DIR)!;
  const explain = new ExplainRequests(redis, config);
  explain.onError(() => undefined);
  const comparisons = new ModelComparisons(redis, keys, { python: config.MODEL_COMPARE_PYTHON, timeoutMs: config.MODEL_COMPARE_TIMEOUT_MS }, silentLogger());
  const app = createApp({
    redis,
    store,
    alertLog,
    registry,
    keys,
    ticketsQueue,
    logger: silentLogger(),
    ...appSettings(config),
    fallback,
    modelMetrics: modelMetricsOrNull(config.MODEL_DIR),
    apiKeys,
    explain,
    comparisons,
  });
  const ready = async () => {
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  };
  const close = async () => {
    await ticketsQueue.close().catch(() => undefined);
    await explain.close();
    comparisons.close();
    redis.disconnect();
    queueRedis.disconnect();
  };
  return { app, redis, ticketsQueue, store, alertLog, registry, keys, config, apiKeys, ready, close };
}

export type TestGateway = ReturnType<typeof buildGateway>;
