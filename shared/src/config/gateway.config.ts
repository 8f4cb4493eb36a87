import { resolve } from 'node:path';
import { z } from 'zod';
import { API_KEY_FORMAT } from '../schemas/auth.schema';
import { agentsEnv, triageJobEnv } from './agents.config';
import { driftEnv } from './drift.config';
import { authMode, checkRedisTopology, modelDir, nonNegativeInt, parseEnv, port, positiveInt, redisEnv } from './env';

export const gatewayConfigSchema = z.object({
  ...redisEnv,
  PORT: port().default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  // Bounds how long any Redis call may take before the request gets a 503.
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(60_000).default(2000),
  RETRY_AFTER_SECONDS: positiveInt(3600).default(5),
  ...triageJobEnv,
  IDEMPOTENCY_TTL_SECONDS: positiveInt().default(86_400),
  SHUTDOWN_TIMEOUT_MS: positiveInt().default(10_000),
  // The console's built files, served at /console.
  CONSOLE_DIR: z.string().min(1).default('console/dist').transform((dir) => resolve(dir)),
  // GET /v2/tickets/:id/explain waits this long for a worker's answer before a 503.
  EXPLAIN_TIMEOUT_MS: positiveInt(120_000).default(5_000),
  // The /v1 path serves the bundle's n-gram model in-process; /metrics reads its metrics.json.
  MODEL_DIR: modelDir,
  // Model bundles /v2/models lists and may compare or promote: the directories directly under it.
  MODELS_ROOT: z.string().min(1).default('models').transform((dir) => resolve(dir)),
  // POST /v2/models/compare runs `<MODEL_COMPARE_PYTHON> -m training compare` for at most this long.
  MODEL_COMPARE_PYTHON: z.string().min(1).default('python3'),
  MODEL_COMPARE_TIMEOUT_MS: positiveInt(7_200_000).default(900_000),
  // A promotion or rollback over HTTP waits this long for every live worker to serve the new version (else it is undone).
  MODEL_SWITCH_TIMEOUT_MS: positiveInt(600_000).default(120_000),
  // How often the active model version (npm run model -- promote) is checked besides its announcements.
  MODEL_POLL_INTERVAL_MS: positiveInt(3_600_000).default(5_000),
  // on: every route but /health, /ready, /openapi.json and /docs needs an API key (docs/api.md).
  AUTH: authMode,
  // A full API key (trk_<id>_<secret>) the gateway stores, hashed, at start-up unless its id exists:
  // the first admin+agent+client key of a fresh deployment (k8s Secret, compose .env). Empty = none.
  BOOTSTRAP_API_KEY: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().regex(API_KEY_FORMAT, 'must be a full API key, trk_<16 hex chars>_<43 base64url chars> (see .env.example)').optional(),
  ),
  // Requests per RATE_LIMIT_WINDOW_MS per API key and scope; 0 switches that scope's limit off.
  RATE_LIMIT_WINDOW_MS: positiveInt(86_400_000).default(60_000),
  RATE_LIMIT_CLIENT: nonNegativeInt().default(600),
  RATE_LIMIT_AGENT: nonNegativeInt().default(1200),
  RATE_LIMIT_ADMIN: nonNegativeInt().default(300),
  BATCH_MAX_ITEMS: positiveInt(1000).default(100),
  ...driftEnv,
  ...agentsEnv,
}).superRefine(checkRedisTopology);

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export const loadGatewayConfig = (env?: NodeJS.ProcessEnv): GatewayConfig => parseEnv(gatewayConfigSchema, env);
