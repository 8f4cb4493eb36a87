import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { authMode, logLevel, parseEnv, port, positiveInt, redisPrefix, redisUrl } from './env';

export const launcherConfigSchema = z.object({
  // Unset → the launcher starts its own redis-server.
  REDIS_URL: redisUrl.optional(),
  REDIS_PREFIX: redisPrefix,
  PORT: port().default(8000),
  WORKERS: positiveInt(64).default(availableParallelism()),
  // First worker's /metrics, /health, /ready port; worker i listens on this + i.
  WORKER_METRICS_PORT: port().default(9464),
  DATA_DIR: z.string().min(1).default('.data'),
  REDIS_SERVER_BIN: z.string().min(1).default('redis-server'),
  // The embedded Redis's AOF fsync policy: `always` survives a machine crash without losing
  // acknowledged tickets, at a measured cost in accept latency (docs/reliability.md).
  REDIS_APPENDFSYNC: z.enum(['always', 'everysec', 'no']).default('everysec'),
  LOG_LEVEL: logLevel,
  // Passed to the gateway; when on, the launcher mints an API key with every scope and prints it.
  AUTH: authMode,
});

export type LauncherConfig = z.output<typeof launcherConfigSchema>;

export const loadLauncherConfig = (env?: NodeJS.ProcessEnv): LauncherConfig => parseEnv(launcherConfigSchema, env);
