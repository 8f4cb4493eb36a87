import express, { type Express, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertLog, Logger, TicketStore, TriageJobData, WorkerRegistry } from '@triage/shared';
import { serviceUnavailable } from './http-errors';
import { errorHandler, notFound } from './middleware/errors.middleware';
import { requestContext } from './middleware/request-id.middleware';
import { alertsRouter } from './routes/alerts.routes';
import { healthRouter } from './routes/health.routes';
import { ticketsRouter } from './routes/tickets.routes';

export interface AppDeps {
  redis: Redis;
  store: TicketStore;
  alertLog: AlertLog;
  registry: WorkerRegistry;
  ticketsQueue: Queue<TriageJobData>;
  logger: Logger;
  retryAfterSeconds: number;
  idempotencyTtlSeconds: number;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  // With enableOfflineQueue off a command would fail anyway; answering before trying keeps
  // the error message and the Retry-After uniform.
  const requireRedis: RequestHandler = (_req, _res, next) => {
    next(deps.redis.status === 'ready' ? undefined : serviceUnavailable(deps.retryAfterSeconds));
  };

  app.use(requestContext(deps.logger));
  app.use(healthRouter(deps));
  app.use('/v2/tickets', ticketsRouter({ ...deps, requireRedis }));
  app.use('/v2/tickets', alertsRouter({ ...deps, requireRedis }));
  app.use(notFound);
  app.use(errorHandler(deps.retryAfterSeconds));
  return app;
}
