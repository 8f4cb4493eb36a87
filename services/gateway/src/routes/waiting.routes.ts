import { Router, type RequestHandler } from 'express';
import {
  type QueuesResponse,
  type RedisClient,
  type RedisKeys,
  type TicketResponse,
  type TicketStore,
  type WaitingResponse,
  waitingQuerySchema,
} from '@triage/shared';
import { HttpError, validationError } from '../http-errors';
import { requireScope } from '../middleware/auth.middleware';
import type { FallbackState } from '../v1/fallback-state';

export interface WaitingRouteDeps {
  redis: RedisClient;
  keys: RedisKeys;
  store: TicketStore;
  fallback: FallbackState;
  requireRedis: RequestHandler;
}

/** Read-only views the agents' console needs: GET /v2/tickets/waiting and GET /v2/queues. */
export function waitingRouter(deps: WaitingRouteDeps): Router {
  const router = Router();

  router.get('/tickets/waiting', requireScope('agent'), deps.requireRedis, async (req, res) => {
    const query = waitingQuerySchema.safeParse(req.query);
    if (!query.success) throw validationError(query.error, 'invalid query');
    // /next pops the highest score of this ZSET, so descending score order is the order it serves.
    const [ids, total] = await Promise.all([deps.redis.zrevrange(deps.keys.urgency, 0, query.data.limit - 1), deps.redis.zcard(deps.keys.urgency)]);
    const tickets = (await Promise.all(ids.map((id) => deps.store.get(id)))).filter((t): t is TicketResponse => t !== null);
    const body: WaitingResponse = { total, tickets };
    res.json(body);
  });

  router.get('/queues', requireScope('agent', 'admin'), (_req, res) => {
    if (deps.fallback.status !== 'ready') throw new HttpError(503, `the model bundle is unavailable: ${deps.fallback.error}`);
    const body: QueuesResponse = { model_version: deps.fallback.bundle.modelVersion, queues: [...deps.fallback.bundle.labels].sort() };
    res.json(body);
  });

  return router;
}
