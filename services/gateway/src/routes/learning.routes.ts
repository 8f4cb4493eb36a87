import { Router, type RequestHandler } from 'express';
import {
  type RedisClient,
  type RedisKeys,
  type StatsStore,
  driftResponseSchema,
  parseWindow,
  reviewQuerySchema,
  reviewResponseSchema,
  statsQuerySchema,
  statsResponseSchema,
} from '@triage/shared';
import { HttpError, validationError } from '../http-errors';
import { type LiveStats, reviewList } from '../learning/live-stats';

export interface LearningRouteDeps {
  liveStats: LiveStats;
  stats: StatsStore;
  redis: RedisClient;
  keys: RedisKeys;
  requireRedis: RequestHandler;
  /** Production figures: admin scope. */
  requireAdmin: RequestHandler;
  /** The review list is what agents label next: agent or admin scope. */
  requireReviewer: RequestHandler;
}

function windowOf(query: unknown): { text: string; ms: number } {
  const parsed = statsQuerySchema.safeParse(query);
  if (!parsed.success) throw validationError(parsed.error, 'invalid query');
  const ms = parseWindow(parsed.data.window);
  if (ms === null) {
    throw new HttpError(400, 'invalid query', [{ path: 'window', message: 'a window like 30m, 24h or 7d (1 minute to 7 days)' }]);
  }
  return { text: parsed.data.window, ms };
}

/** GET /v2/stats, /v2/monitoring/drift, /v2/review: how the model does in production. */
export function learningRouter(deps: LearningRouteDeps): Router {
  const router = Router();
  const { requireAdmin, requireRedis } = deps;

  router.get('/stats', requireAdmin, requireRedis, async (req, res) => {
    const window = windowOf(req.query);
    res.json(statsResponseSchema.parse(await deps.liveStats.stats(window.text, window.ms)));
  });

  router.get('/monitoring/drift', requireAdmin, requireRedis, async (req, res) => {
    const window = windowOf(req.query);
    const drift = await deps.liveStats.drift(window.text, window.ms);
    if (!drift) throw new HttpError(409, 'the active model has no drift_reference in its config.json');
    res.json(driftResponseSchema.parse(drift));
  });

  router.get('/review', deps.requireReviewer, requireRedis, async (req, res) => {
    const parsed = reviewQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error, 'invalid query');
    res.json(reviewResponseSchema.parse({ tickets: await reviewList(deps.stats, deps.redis, deps.keys, parsed.data.limit) }));
  });

  return router;
}
