import { resolve } from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses an environment once; every service calls this exactly once at start-up. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const port = () => intFrom(0, 65535);
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) => intFrom(1, max);
export const nonNegativeInt = (max = Number.MAX_SAFE_INTEGER) => intFrom(0, max);
export const probability = () => z.coerce.number().min(0).max(1);

/** API keys on (the default) or off (a local, open setup; the gateway warns loudly). */
export const authMode = z.enum(['on', 'off']).default('on');

export const logLevel = z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info');

export const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
  .pipe(z.url());

// An empty line in .env (`SLACK_WEBHOOK_URL=`) means "not configured", not "invalid".
export const unsetIfEmpty = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

// The prefix is embedded in every key (and BullMQ's prefix), so keep it to characters that can't
// collide with the ':' separator. In braces it is a Redis Cluster hash tag: only the name between
// them is hashed, so every key of the deployment lands in one slot (docs/deployment.md).
export const redisPrefix = z
  .string()
  .regex(/^(?:[A-Za-z0-9_.-]{1,64}|\{[A-Za-z0-9_.-]{1,62}\})$/, 'letters, digits, "_", "." or "-" (max 64), or such a name in braces as a hash tag: {triage}')
  .default('triage');

export const isHashTagPrefix = (prefix: string): boolean => prefix.startsWith('{');

const credentialKey = (url: string) => {
  const { protocol, username, password } = new URL(url);
  return `${protocol}${username}:${password}`;
};

/**
 * Comma-separated URLs of a Redis Cluster's seed nodes or of Sentinels. The client discovers the
 * other nodes and gives them the first URL's user, password and TLS, so every URL must carry the same.
 */
export const redisUrlList = z
  .string()
  .transform((list) => list.split(',').map((node) => node.trim()).filter((node) => node !== ''))
  .pipe(z.array(redisUrl).min(1, 'must name at least one node'))
  .refine((urls) => new Set(urls.map(credentialKey)).size === 1, 'every node URL must carry the same user, password and scheme (they apply to all nodes)');

/** The model bundle (docs/model-contract.md); relative paths resolve against the working directory. */
export const modelDir = z
  .string()
  .min(1)
  .default('models/triage')
  .transform((dir) => resolve(dir));

/** Where Redis is when it is not the one REDIS_URL names (see connectRedis). */
export const redisTopologyEnv = {
  // Set: the services talk to a Redis Cluster through these seed nodes and REDIS_URL is not used.
  REDIS_CLUSTER_NODES: unsetIfEmpty(redisUrlList),
  // Set: the master named REDIS_SENTINEL_MASTER is found (and followed through failovers) via these
  // Sentinels; REDIS_URL then only gives the master's user, password, database and TLS.
  REDIS_SENTINELS: unsetIfEmpty(redisUrlList),
  REDIS_SENTINEL_MASTER: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-"').default('mymaster'),
};

export const redisEnv = {
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  ...redisTopologyEnv,
  REDIS_PREFIX: redisPrefix,
  LOG_LEVEL: logLevel,
};

type RedisTopology = { REDIS_CLUSTER_NODES?: string[] | undefined; REDIS_SENTINELS?: string[] | undefined; REDIS_PREFIX: string };

/**
 * For schemas spreading redisEnv (`.superRefine(checkRedisTopology)`). On a cluster the prefix must
 * be a hash tag: BullMQ and every Lua script and MULTI touch several keys at once, which a cluster
 * only allows within one slot.
 */
export function checkRedisTopology(c: RedisTopology, ctx: z.RefinementCtx): void {
  if (c.REDIS_CLUSTER_NODES !== undefined && c.REDIS_SENTINELS !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'set REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both', path: ['REDIS_SENTINELS'] });
  }
  if (c.REDIS_CLUSTER_NODES !== undefined && !isHashTagPrefix(c.REDIS_PREFIX)) {
    ctx.addIssue({ code: 'custom', message: 'with REDIS_CLUSTER_NODES the prefix must be a hash tag such as {triage}, so all keys share one cluster slot', path: ['REDIS_PREFIX'] });
  }
}

/** For main modules: a configuration error ends the process with its message, not a stack trace. */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
