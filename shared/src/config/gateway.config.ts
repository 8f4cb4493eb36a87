import { z } from 'zod';
import { modelDir, parseEnv, port, positiveInt, redisEnv } from './env';

export const gatewayConfigSchema = z.object({
  ...redisEnv,
  PORT: port().default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  // Bounds how long any Redis call may take before the request gets a 503.
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(60_000).default(2000),
  RETRY_AFTER_SECONDS: positiveInt(3600).default(5),
  JOB_ATTEMPTS: positiveInt(20).default(3),
  JOB_BACKOFF_MS: positiveInt(600_000).default(1000),
  IDEMPOTENCY_TTL_SECONDS: positiveInt().default(86_400),
  SHUTDOWN_TIMEOUT_MS: positiveInt().default(10_000),
  // The /v1 path serves the bundle's n-gram model in-process; /metrics reads its metrics.json.
  MODEL_DIR: modelDir,
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export const loadGatewayConfig = (env?: NodeJS.ProcessEnv): GatewayConfig => parseEnv(gatewayConfigSchema, env);
