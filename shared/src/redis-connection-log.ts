import type { RedisClient } from './redis-connection';
import { type Logger, throttledLog } from './logger';

/**
 * Logs a Redis connection's outages the way an operator wants to read them: one warning when
 * it goes, a summary of the reconnect attempts while it stays away (they are expected, not
 * errors), and one line with the duration when it is back.
 */
export function logRedisConnection(redis: RedisClient, logger: Logger, connection: string): void {
  let downSince: number | undefined;
  let failures = 0;
  const unreachable = throttledLog(logger, 'warn', 'redis unreachable, reconnecting', 30_000);
  redis.on('error', (err: Error) => {
    downSince ??= Date.now();
    failures += 1;
    unreachable({ connection, error: err.message, failed_attempts: failures });
  });
  redis.on('ready', () => {
    if (downSince === undefined) return;
    logger.info('redis connection restored', { connection, down_ms: Date.now() - downSince, failed_attempts: failures });
    downSince = undefined;
    failures = 0;
  });
}

const REDIS_DOWN_MESSAGES = ['enableOfflineQueue', 'Connection is closed', 'Command timed out', 'connect ECONNREFUSED', 'Stream isn\'t writeable', 'Reached the max retries per request limit'];
const REDIS_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN']);
/**
 * Replies of a Redis that is there but cannot take the command now: a demoted master during a
 * failover, a master without its required replicas, a cluster missing a slot, a node loading its data.
 */
const REDIS_BUSY_REPLIES = ['READONLY', 'NOREPLICAS', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'LOADING'];

/** True for the errors ioredis/BullMQ raise when Redis cannot be reached in time. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.name === 'DeadlinePassedError' ||
    err.name === 'ClusterAllFailedError' ||
    REDIS_BUSY_REPLIES.some((reply) => err.message.startsWith(`${reply} `)) ||
    (code !== undefined && REDIS_DOWN_CODES.has(code)) ||
    REDIS_DOWN_MESSAGES.some((m) => err.message.includes(m))
  );
}
