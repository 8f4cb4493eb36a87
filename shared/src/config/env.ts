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

// The prefix is embedded in every key (and BullMQ's prefix), so keep it to characters
// that can't collide with the ':' separator.
export const redisPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (max 64)')
  .default('triage');

/** The model bundle (docs/model-contract.md); relative paths resolve against the working directory. */
export const modelDir = z
  .string()
  .min(1)
  .default('models/triage')
  .transform((dir) => resolve(dir));

export const redisEnv = {
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: redisPrefix,
  LOG_LEVEL: logLevel,
};

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
