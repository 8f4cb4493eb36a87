/** What the Redis-talking CLIs (keys, feedback:export, model) share: config, connection, exit codes. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  type RedisClient,
  checkRedisTopology,
  connectRedis,
  describeRedisTarget,
  errorMessage,
  loadConfigOrExit,
  modelDir,
  parseEnv,
  redisPrefix,
  redisTopologyEnv,
  redisUrl,
} from '@triage/shared';
import { REPO_ROOT, runningRedisUrlFile } from './stack';

const cliConfigSchema = z
  .object({
    REDIS_URL: redisUrl.optional(),
    ...redisTopologyEnv,
    REDIS_PREFIX: redisPrefix,
    DATA_DIR: z.string().min(1).default('.data'),
    // What workers serve until a version is promoted (their own MODEL_DIR default).
    MODEL_DIR: modelDir,
  })
  .superRefine(checkRedisTopology);
export type CliConfig = z.output<typeof cliConfigSchema>;

export class UsageError extends Error {}

/** REDIS_URL, else the Redis of a running `npm start`, else localhost. */
function redisUrlOf(config: CliConfig): string {
  if (config.REDIS_URL) return config.REDIS_URL;
  try {
    return readFileSync(runningRedisUrlFile(resolve(REPO_ROOT, config.DATA_DIR)), 'utf8').trim();
  } catch {
    return 'redis://127.0.0.1:6379';
  }
}

/** Parses the environment, connects (failing fast with a readable message), runs `work`, disconnects. */
export async function withCliRedis<T>(work: (redis: RedisClient, config: CliConfig) => Promise<T>): Promise<T> {
  const config = loadConfigOrExit(() => parseEnv(cliConfigSchema));
  const target = { ...config, REDIS_URL: redisUrlOf(config) };
  const redis = connectRedis(target, { kind: 'cli' });
  redis.on('error', () => undefined);
  try {
    await redis.connect().catch((err: Error) => {
      throw new Error(`cannot reach ${describeRedisTarget(target)} (${err.message}); set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS`);
    });
    return await work(redis, config);
  } finally {
    redis.disconnect();
  }
}

/** Runs a CLI's main: a usage error prints the usage and exits 64, any other error exits 1. */
export function runCli(main: () => Promise<void>, usage: string): void {
  main().catch((err: unknown) => {
    const message = errorMessage(err);
    const isUsage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(isUsage ? `${message}\n${usage}\n` : `${message}\n`);
    process.exit(err instanceof UsageError ? 64 : 1);
  });
}
