import { Queue } from 'bullmq';
import { type GatewayConfig, QueueName, type RedisClient, type RedisTarget, type TriageJobData, connectRedis, redisKeys, triageJobOptions } from '@triage/shared';

/** The producer connection fails fast, so a request sees a 503 rather than hanging on a dead Redis. */
export function connectProducerRedis(config: Pick<GatewayConfig, keyof RedisTarget | 'REDIS_COMMAND_TIMEOUT_MS'>): RedisClient {
  return connectRedis(config, { kind: 'producer', commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
}

export function createTicketsQueue(
  redis: RedisClient,
  config: Pick<GatewayConfig, 'REDIS_PREFIX' | 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>,
): Queue<TriageJobData> {
  return new Queue<TriageJobData>(QueueName.Tickets, {
    connection: redis,
    prefix: redisKeys(config.REDIS_PREFIX).bullPrefix,
    defaultJobOptions: triageJobOptions(config),
  });
}
