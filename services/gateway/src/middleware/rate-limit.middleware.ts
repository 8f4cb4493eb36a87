import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { type GatewayConfig, type Logger, type RedisClient, SCOPES, type Scope, errorMessage } from '@triage/shared';
import { HttpError } from '../http-errors';
import { type AfterScope, principalOf } from './auth.middleware';

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
 * rate-limit-redis loads its scripts once at start-up and keeps a failed load forever, which
 * would break the limiter for good when the gateway starts before Redis. So the SHA is computed
 * locally and EVALSHA falls back to EVAL: the scripts survive a Redis restart or a late start.
 */
function sendCommandVia(redis: RedisClient) {
  const scripts = new Map<string, string>();
  return async (command: string, ...args: string[]): Promise<RedisReply> => {
    if (command === 'SCRIPT' && args[0] === 'LOAD' && args[1] !== undefined) {
      const sha = createHash('sha1').update(args[1]).digest('hex');
      scripts.set(sha, args[1]);
      return sha;
    }
    if (command === 'EVALSHA') {
      const [sha, ...rest] = args as [string, ...string[]];
      try {
        return (await redis.call('EVALSHA', sha, ...rest)) as RedisReply;
      } catch (err) {
        const script = scripts.get(sha);
        if (!script || !(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return (await redis.call('EVAL', script, ...rest)) as RedisReply;
      }
    }
    return (await redis.call(command, ...args)) as RedisReply;
  };
}

/** Keys count per API key; without keys (AUTH=off) per client address and claimed agent id. */
function clientKey(req: Request, res: Response): string {
  const principal = principalOf(res);
  return principal.via === 'key' ? `key:${principal.id}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}:${principal.id}`;
}

/** One limiter per scope, shared by every gateway replica through Redis → 429 + Retry-After. */
export function scopeRateLimits(options: RateLimitOptions): AfterScope {
  const sendCommand = sendCommandVia(options.redis);
  const report = (level: 'warn' | 'error') => (err: unknown, message?: string) =>
    options.logger[level](message ?? 'rate limiter', { message: errorMessage(err) });
  const logger = { warn: report('warn'), error: report('warn') };
  const limiters = Object.fromEntries(
    SCOPES.map((scope) => [
      scope,
      options.limits[scope] === 0
        ? undefined
        : rateLimit({
            windowMs: options.windowMs,
            limit: options.limits[scope],
            standardHeaders: 'draft-8',
            legacyHeaders: false,
            // Redis down: let the request on; a route that needs Redis answers 503 itself, and a
            // bad request still gets its 400.
            passOnStoreError: true,
            logger,
            identifier: scope,
            keyGenerator: (req, res) => clientKey(req, res),
            store: new RedisStore({ sendCommand, prefix: `${options.keyPrefix}${scope}:` }),
            handler: (_req, res, next) => {
              const retryAfter = res.getHeader('Retry-After');
              next(
                new HttpError(429, `rate limit exceeded: ${options.limits[scope]} requests per ${options.windowMs / 1000} s for the '${scope}' scope`, undefined, {
                  ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
                }),
              );
            },
          }),
    ]),
  );
  return (scope, req, res, next) => {
    const limiter = limiters[scope];
    // Redis down: let the request on (see passOnStoreError) without trying the store first.
    if (limiter && options.redis.status === 'ready') void limiter(req, res, next);
    else next();
  };
}
