import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type GatewayConfig, QueueName, type TriageJobData, redisKeys, triageJobOptions } from '@triage/shared';

/**
 * The producer connection fails fast instead of buffering: no offline queue, one retry,
 * and a per-command timeout, so a request sees a 503 rather than hanging on a dead Redis.
 */
export function connectProducerRedis(config: Pick<GatewayConfig, 'REDIS_URL' | 'REDIS_COMMAND_TIMEOUT_MS'>): Redis {
  return new Redis(config.REDIS_URL, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  });
}

export function createTicketsQueue(
  redis: Redis,
  config: Pick<GatewayConfig, 'REDIS_PREFIX' | 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>,
): Queue<TriageJobData> {
  return new Queue<TriageJobData>(QueueName.Tickets, {
    connection: redis,
    prefix: redisKeys(config.REDIS_PREFIX).bullPrefix,
    defaultJobOptions: triageJobOptions(config),
  });
}
