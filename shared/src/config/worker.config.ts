import { hostname } from 'node:os';
import { z } from 'zod';
import { agentsEnv, triageJobEnv } from './agents.config';
import { alertsEnv } from './alerts.config';
import { driftAlertWindow, driftEnv } from './drift.config';
import { checkRedisTopology, modelDir, parseEnv, port, positiveInt, probability, redisEnv } from './env';

export const workerConfigSchema = z
  .object({
    ...redisEnv,
    MODEL_DIR: modelDir,
    // How often the active model version (npm run model -- promote) is checked besides its announcements.
    MODEL_POLL_INTERVAL_MS: positiveInt(3_600_000).default(5_000),
    WORKER_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/)
      .default(`${hostname()}-${process.pid}`),
    WORKER_CONCURRENCY: positiveInt(256).default(4),
    INTRA_OP_THREADS: positiveInt(64).default(1),
    INFERENCE_MAX_BATCH: positiveInt(256).default(8),
    // Most padded tokens (texts × longest) per onnxruntime run; unset → 256, or the model's max_length if longer.
    INFERENCE_MAX_BATCH_TOKENS: positiveInt(65_536).optional(),
    // BullMQ job locks: renewed every LOCK_DURATION_MS / 2 while a job runs, so a worker that
    // dies loses its jobs after at most LOCK_DURATION_MS; a stall check every STALLED_INTERVAL_MS
    // hands them to another worker. A job that stalls more than MAX_STALLED_COUNT times fails
    // (its ticket is marked failed). The per-ticket lock follows the same duration and renewal.
    LOCK_DURATION_MS: positiveInt(600_000).default(6_000),
    STALLED_INTERVAL_MS: positiveInt(600_000).default(5_000),
    MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(1),
    LOCK_BUSY_DELAY_MS: positiveInt().default(1_000),
    HEARTBEAT_INTERVAL_MS: positiveInt().default(5_000),
    HEARTBEAT_TTL_MS: positiveInt().default(15_000),
    // Unset → the model's config.json action_thresholds, then 0.85 / 0.70.
    ACTION_AUTO_ROUTE: probability().optional(),
    ACTION_HUMAN_REVIEW: probability().optional(),
    SHUTDOWN_TIMEOUT_MS: positiveInt().default(30_000),
    // /metrics (Prometheus), /health and /ready; 0 picks a free port (logged at start).
    WORKER_METRICS_PORT: port().default(9464),
    WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
    // Circuit breaker: this many consecutive encoder failures (errors or answers slower than the
    // budget) switch the worker to the n-gram fallback; after the cool-down one ticket probes the encoder.
    ENCODER_LATENCY_BUDGET_MS: positiveInt(600_000).default(500),
    BREAKER_FAILURE_THRESHOLD: positiveInt(1_000).default(3),
    BREAKER_COOLDOWN_MS: positiveInt().default(30_000),
    ...alertsEnv,
    ...agentsEnv,
    ...triageJobEnv,
    /** How often one worker runs the maintenance sweep (lease expiry, SLA alerts, retention, orphaned pending tickets). */
    MAINTENANCE_INTERVAL_MS: positiveInt(3_600_000).default(5_000),
    /** A pending ticket this old without a BullMQ job is re-enqueued. */
    PENDING_RECONCILE_AFTER_MS: positiveInt().default(60_000),
    ...driftEnv,
    /** The sweep sends one `drift` alert when a signal's PSI over this window reaches 0.25, then none until it stayed below for as long. */
    DRIFT_ALERT_WINDOW: driftAlertWindow,
  })
  .superRefine(checkRedisTopology)
  .refine(
    (c) => c.ACTION_AUTO_ROUTE === undefined || c.ACTION_HUMAN_REVIEW === undefined || c.ACTION_HUMAN_REVIEW <= c.ACTION_AUTO_ROUTE,
    { message: 'ACTION_HUMAN_REVIEW must be <= ACTION_AUTO_ROUTE', path: ['ACTION_HUMAN_REVIEW'] },
  )
  .refine((c) => c.LOCK_DURATION_MS >= 1_000, {
    message: 'LOCK_DURATION_MS below 1000 would lose locks to ordinary event-loop pauses',
    path: ['LOCK_DURATION_MS'],
  })
  .refine((c) => c.HEARTBEAT_INTERVAL_MS < c.HEARTBEAT_TTL_MS, {
    message: 'HEARTBEAT_INTERVAL_MS must be shorter than HEARTBEAT_TTL_MS',
    path: ['HEARTBEAT_INTERVAL_MS'],
  });

export type WorkerConfig = z.output<typeof workerConfigSchema>;

export const loadWorkerConfig = (env?: NodeJS.ProcessEnv): WorkerConfig => parseEnv(workerConfigSchema, env);
