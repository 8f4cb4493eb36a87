import { Router } from 'express';
import { type RedisClient, type TicketStore, type WorkerRegistry, withTimeout } from '@triage/shared';
import { withoutPaths } from '../client-safe';
import { breakerCounts } from '../metrics/breaker-counts';
import type { ModelMetrics } from '../metrics/model-metrics';
import type { FallbackState } from '../v1/fallback-state';
import type { V1Queue } from '../v1/v1-queue';

export interface HealthRouteDeps {
  redis: RedisClient;
  registry: WorkerRegistry;
  store: TicketStore;
  v1Queue: V1Queue;
  fallback: FallbackState;
  modelMetrics: ModelMetrics | null;
  retryAfterSeconds: number;
}

/**
 * /health's Redis reads give up after this long: well inside a liveness probe's default 1 s
 * timeout, so a frozen Redis is reported as unreachable instead of getting the pod restarted.
 */
const HEALTH_REDIS_BUDGET_MS = 500;

const within = <T>(work: Promise<T>, ms: number): Promise<T> => withTimeout(work, ms, () => new Error(`no answer within ${ms} ms`));

export function healthRouter(deps: HealthRouteDeps): Router {
  const router = Router();

  // Liveness: always 200 while the process serves HTTP (Redis trouble must not get the pod
  // killed). The seed API's fields ride along; Redis is only asked when connected, and only briefly.
  router.get('/health', async (_req, res) => {
    res.json({ status: 'ok', uptime_s: Math.round(process.uptime()), ...modelReport(deps), ...(await brokerReport(deps)) });
  });

  router.get('/ready', async (_req, res) => {
    const report = await readiness(deps);
    if (!report.ready) res.status(503).set('Retry-After', String(deps.retryAfterSeconds));
    res.json({ status: report.ready ? 'ready' : 'not_ready', ...report.body });
  });

  return router;
}

function modelReport({ fallback, modelMetrics }: HealthRouteDeps) {
  return {
    m1: fallback.status,
    m1_model_version: fallback.status === 'ready' ? fallback.bundle.modelVersion : null,
    ...(fallback.status === 'unavailable' ? { m1_error: fallback.error } : {}),
    m1_accuracy: modelMetrics?.m1.accuracy ?? null,
  };
}

async function brokerReport({ redis, registry, store, v1Queue }: HealthRouteDeps) {
  const unreachable = {
    m2_broker: { status: 'unreachable', workers: 0, encoder_breakers: null },
    redis: { status: 'unreachable', pending: null, processed: null },
    m1_queue: null,
  };
  if (redis.status !== 'ready') return unreachable;
  try {
    const [workers, counts, depth] = await within(Promise.all([registry.live(), store.statusCounts(), v1Queue.depth()]), HEALTH_REDIS_BUDGET_MS);
    return {
      m2_broker: { status: workers.length > 0 ? 'ok' : 'no_workers', workers: workers.length, encoder_breakers: breakerCounts(workers) },
      redis: { status: 'ok', pending: counts.pending, processed: counts.processed },
      m1_queue: depth,
    };
  } catch {
    return unreachable;
  }
}

async function readiness({ redis, registry }: HealthRouteDeps) {
  const down = { ready: false, body: { redis: 'unreachable', workers: 0, model_versions: [] as string[], encoder_breakers: [] } };
  if (redis.status !== 'ready') return down;
  try {
    await redis.ping();
    const workers = await registry.live();
    const modelVersions = [...new Set(workers.map((w) => w.model_version))].sort();
    return {
      // Workers whose breaker is open still triage (with the fallback), so they count as ready.
      ready: workers.length > 0,
      body: {
        redis: 'ok',
        workers: workers.length,
        model_versions: modelVersions,
        encoder_breakers: workers.map((w) => ({
          worker_id: w.worker_id,
          ...(w.breaker ? { ...w.breaker, reason: w.breaker.reason === null ? null : withoutPaths(w.breaker.reason) } : { state: 'closed' }),
        })),
        ...(workers.length === 0 ? { reason: 'no worker heartbeat' } : {}),
      },
    };
  } catch {
    return down;
  }
}
