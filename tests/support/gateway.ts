import { AlertLog, TicketStore, WorkerRegistry, gatewayConfigSchema, redisKeys, silentLogger } from '@triage/shared';
import { createApp } from '../../services/gateway/src/app';
import { connectProducerRedis, createTicketsQueue } from '../../services/gateway/src/connections';
import { testRedisUrl } from './test-redis';

/** A gateway app wired exactly like main.ts, on its own prefix. */
export function buildGateway(prefix: string, redisUrl = testRedisUrl(), env: Record<string, string> = {}) {
  const config = gatewayConfigSchema.parse({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, ...env });
  const keys = redisKeys(prefix);
  const redis = connectProducerRedis(config);
  redis.on('error', () => undefined);
  const ticketsQueue = createTicketsQueue(redis, config);
  ticketsQueue.on('error', () => undefined);
  const store = new TicketStore(redis, keys);
  const registry = new WorkerRegistry(redis, keys);
  const alertLog = new AlertLog(redis, keys);
  const app = createApp({
    redis,
    store,
    alertLog,
    registry,
    ticketsQueue,
    logger: silentLogger(),
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
  });
  const ready = async () => {
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  };
  const close = async () => {
    await ticketsQueue.close().catch(() => undefined);
    redis.disconnect();
  };
  return { app, redis, ticketsQueue, store, alertLog, registry, keys, config, ready, close };
}

export type TestGateway = ReturnType<typeof buildGateway>;
