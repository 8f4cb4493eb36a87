import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { WorkerRegistry } from '@triage/shared';

export interface HealthRouteDeps {
  redis: Redis;
  registry: WorkerRegistry;
  retryAfterSeconds: number;
}

export function healthRouter(deps: HealthRouteDeps): Router {
  const router = Router();

  // Liveness only says the process serves HTTP; Redis trouble must not get the pod killed.
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptime_s: Math.round(process.uptime()) });
  });

  router.get('/ready', async (_req, res) => {
    const report = await readiness(deps);
    if (!report.ready) res.status(503).set('Retry-After', String(deps.retryAfterSeconds));
    res.json({ status: report.ready ? 'ready' : 'not_ready', ...report.body });
  });

  return router;
}

async function readiness({ redis, registry }: HealthRouteDeps) {
  if (redis.status !== 'ready') {
    return { ready: false, body: { redis: 'unreachable', workers: 0, model_versions: [] as string[] } };
  }
  try {
    await redis.ping();
    const workers = await registry.live();
    const modelVersions = [...new Set(workers.map((w) => w.model_version))].sort();
    return {
      ready: workers.length > 0,
      body: {
        redis: 'ok',
        workers: workers.length,
        model_versions: modelVersions,
        ...(workers.length === 0 ? { reason: 'no worker heartbeat' } : {}),
      },
    };
  } catch {
    return { ready: false, body: { redis: 'unreachable', workers: 0, model_versions: [] as string[] } };
  }
}
