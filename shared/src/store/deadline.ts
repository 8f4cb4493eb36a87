import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis-connection';

/**
 * Deadline fencing for scripts whose caller may stop waiting. A frozen Redis (SIGSTOP, a fork
 * or AOF-rewrite stall, a network pause) keeps the TCP connection open: the command sits in the
 * socket, the client's command timeout fires and the request is answered 503 — and when Redis
 * resumes, the command runs anyway. A fenced script gets the moment the caller gives up as its
 * first argument and refuses to change anything once Redis's own clock (TIME) is past it.
 *
 * Clock assumption: RedisClient's clock runs at most DEADLINE_MARGIN behind the caller's (loopback
 * or NTP-synced hosts are well inside it). The margin also covers a reply that has arrived but
 * is read after the timeout fires (a busy event loop). Outside those bounds the safety nets
 * still hold: an Idempotency-Key retry finds the ticket, and the reconciler enqueues a pending
 * record without a job.
 */
export const DEADLINE_MARGIN_SHARE = 0.25;
export const DEADLINE_MARGIN_MAX_MS = 1_000;

const DEADLINE_ERROR = 'DEADLINE';

/** Prepends the check; the wrapped script sees its usual ARGV (the deadline is removed first). */
export function withDeadline(lua: string): string {
  return `
local deadline = tonumber(table.remove(ARGV, 1))
if deadline > 0 then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then
    return redis.error_reply('${DEADLINE_ERROR} the caller stopped waiting for this command')
  end
end
${lua}`;
}

/** The deadline (ms since the epoch) for a command sent now, or 0 when the connection never gives up. */
export function commandDeadline(redis: RedisClient, nowMs = Date.now()): number {
  // A cluster's per-command options are those of its node connections.
  const timeout = redis instanceof Cluster ? redis.options.redisOptions?.commandTimeout : redis.options.commandTimeout;
  if (timeout === undefined || timeout <= 0) return 0;
  return nowMs + timeout - Math.min(DEADLINE_MARGIN_MAX_MS, Math.ceil(timeout * DEADLINE_MARGIN_SHARE));
}

/** Raised when a fenced script ran after its deadline and changed nothing (the request answers 503). */
export class DeadlinePassedError extends Error {
  override readonly name = 'DeadlinePassedError';
}

export async function fenced<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(DEADLINE_ERROR)) throw new DeadlinePassedError(err.message);
    throw err;
  }
}
