import { type GatewayConfig, type Logger, type Principal, type RedisClient, type Scope, defineScript, errorMessage, throttledLog } from '@triage/shared';
import { HttpError } from '../http-errors';

export interface RateLimitOptions {
  redis: RedisClient;
  /** Counters live under this key prefix (redisKeys(prefix).rateLimit). */
  keyPrefix: string;
  windowMs: number;
  /** Requests per window per principal and scope; 0 = unlimited. */
  limits: Record<Scope, number>;
  logger: Logger;
}

/** The rate-limit part of the gateway's configuration. */
export const rateLimitSettings = (config: GatewayConfig): Pick<RateLimitOptions, 'windowMs' | 'limits'> => ({
  windowMs: config.RATE_LIMIT_WINDOW_MS,
  limits: { client: config.RATE_LIMIT_CLIENT, agent: config.RATE_LIMIT_AGENT, admin: config.RATE_LIMIT_ADMIN },
});

/**
 * A fixed window per counter: the first hit of a window creates the key with the window as its
 * expiry, later hits count up. Returns the count and the milliseconds the window has left.
 */
const HIT = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[1])
  return {1, tonumber(ARGV[1])}
end
return {redis.call('INCR', KEYS[1]), ttl}`;

/**
 * Counts a request against its principal's budget for a scope and answers the headers to send
 * (IETF draft-8 RateLimit and RateLimit-Policy); past the budget it throws a 429 with Retry-After.
 * An unlimited scope has no headers.
 */
export type RateLimit = (scope: Scope, principal: Principal, address: string | undefined) => Promise<Record<string, string>>;

/** Counters per API key; without keys (AUTH=off) per client address and claimed agent id. */
const counterOf = (principal: Principal, address: string | undefined) =>
  principal.via === 'key' ? `key:${principal.id}` : `ip:${address ?? 'unknown'}:${principal.id}`;

/** One budget per principal and scope, shared by every gateway replica through Redis. */
export function scopeRateLimits(options: RateLimitOptions): RateLimit {
  const hit = defineScript<[number, number]>(options.redis, 'triageRateLimitHit', HIT, 1);
  // Redis down: let the request on; a route that needs Redis answers 503 itself, and a bad request
  // still gets its 400.
  const storeFailed = throttledLog(options.logger, 'warn', 'rate limiter: counter unavailable, request let through', 30_000);
  const windowSeconds = Math.ceil(options.windowMs / 1000);
  return async (scope, principal, address) => {
    const limit = options.limits[scope];
    if (limit === 0 || options.redis.status !== 'ready') return {};
    let count: number;
    let ttlMs: number;
    try {
      [count, ttlMs] = await hit(`${options.keyPrefix}${scope}:${counterOf(principal, address)}`, options.windowMs);
    } catch (err) {
      storeFailed({ error: errorMessage(err) });
      return {};
    }
    const resetSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const headers = {
      RateLimit: `"${scope}";r=${Math.max(limit - count, 0)};t=${resetSeconds}`,
      'RateLimit-Policy': `"${scope}";q=${limit};w=${windowSeconds}`,
    };
    if (count > limit) {
      throw new HttpError(429, `rate limit exceeded: ${limit} requests per ${options.windowMs / 1000} s for the '${scope}' scope`, undefined, {
        ...headers,
        'Retry-After': String(resetSeconds),
      });
    }
    return headers;
  };
}
