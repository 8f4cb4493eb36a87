import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Queue } from 'bullmq';
import {
  type AlertLog,
  type ApiKeyStore,
  FeedbackReader,
  type GatewayConfig,
  type Logger,
  type RedisClient,
  type RedisKeys,
  type Scope,
  StatsStore,
  type TicketStore,
  type TriageJobData,
  type WorkerRegistry,
  driftReferenceOf,
} from '@triage/shared';
import { LiveStats } from './learning/live-stats';
import { serviceUnavailable } from './http-errors';
import type { ExplainRequests } from './explain/explain-requests';
import type { ModelMetrics } from './metrics/model-metrics';
import { ROUTE_BASE, createPrometheus } from './metrics/prometheus';
import { SCOPE_RATE_LIMIT, authenticate, requireScope } from './middleware/auth.middleware';
import { documentedOptions, errorHandler, errorReporter, methodNotAllowed, notFound } from './middleware/errors.middleware';
import { rateLimitSettings, scopeRateLimits } from './middleware/rate-limit.middleware';
import { MOUNTED_ROUTERS, type MountedRouter, documentedPathMethods, openApiDocument } from './openapi/document';
import { requestContext } from './middleware/request-id.middleware';
import { agentRouter } from './routes/agent.routes';
import { alertsRouter } from './routes/alerts.routes';
import { explainRouter } from './routes/explain.routes';
import { docsRouter } from './routes/docs.routes';
import { healthRouter } from './routes/health.routes';
import { learningRouter } from './routes/learning.routes';
import { type ModelSettings, modelsRouter } from './routes/models.routes';
import type { ModelComparisons } from './models/model-comparisons';
import { metricsRouter } from './routes/metrics.routes';
import { ACCEPT_ROUTE, ticketAcceptRoute } from './routes/ticket-accept.route';
import { ticketsRouter } from './routes/tickets.routes';
import { v1TicketsRouter } from './routes/v1-tickets.routes';
import { waitingRouter } from './routes/waiting.routes';
import { consoleRouter } from './console/console.router';
import type { FallbackState } from './v1/fallback-state';
import { V1Queue } from './v1/v1-queue';

/** The AppDeps that come straight from the gateway's config, so main.ts and the tests read them one way. */
export function appSettings(config: GatewayConfig) {
  return {
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    batchMaxItems: config.BATCH_MAX_ITEMS,
    auth: config.AUTH,
    rateLimit: rateLimitSettings(config),
    driftMinSamples: config.DRIFT_MIN_SAMPLES,
    consoleDir: config.CONSOLE_DIR,
    models: { root: config.MODELS_ROOT, defaultDir: config.MODEL_DIR, switchTimeoutMs: config.MODEL_SWITCH_TIMEOUT_MS },
  } satisfies Partial<AppDeps>;
}

export interface AppDeps {
  redis: RedisClient;
  store: TicketStore;
  alertLog: AlertLog;
  registry: WorkerRegistry;
  keys: RedisKeys;
  ticketsQueue: Queue<TriageJobData>;
  logger: Logger;
  retryAfterSeconds: number;
  idempotencyTtlSeconds: number;
  /** Most tickets one POST /v2/tickets/batch may hold. */
  batchMaxItems: number;
  /** The served bundle, and its n-gram model for /v1 (see loadFallbackState). */
  fallback: FallbackState;
  /** metrics.json of the model directory; null when missing (GET /metrics JSON answers 503). */
  modelMetrics: ModelMetrics | null;
  /** AUTH: 'on' → API keys required; 'off' → open (X-Agent-Id names an agent). */
  auth: 'on' | 'off';
  apiKeys: ApiKeyStore;
  rateLimit: { windowMs: number; limits: Record<Scope, number> };
  /** A drift signal gets a PSI only with this many tickets in the window. */
  driftMinSamples: number;
  /** The console's built files (console/dist); null or missing → /console explains how to build it. */
  consoleDir: string | null;
  /** Explanations come from a worker (the gateway loads no encoder). */
  explain: ExplainRequests;
  /** Model bundles /v2/models lists, compares and promotes. */
  models: ModelSettings;
  comparisons: ModelComparisons;
}

/**
 * The gateway's request listener: POST /v2/tickets on its own (ticket-accept.route.ts), every
 * other request through Express.
 */
export interface GatewayApp {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The Express app behind every other route (the route-coverage test lists its routers). */
  readonly express: Express;
  /** `METHOD path` of the routes served outside Express. */
  readonly outsideExpress: readonly string[];
}

export function createApp(deps: AppDeps): GatewayApp {
  const app = express();
  app.disable('x-powered-by');

  // With enableOfflineQueue off a command would fail anyway; answering before trying keeps
  // the error message and the Retry-After uniform.
  const requireRedis: RequestHandler = (_req, _res, next) => {
    next(deps.redis.status === 'ready' ? undefined : serviceUnavailable(deps.retryAfterSeconds));
  };

  const v1Queue = new V1Queue(deps.redis, deps.keys);
  // The served bundle's labels (its ngram.json matches its config.json, checked by tests).
  const queueLabels = () => (deps.fallback.status === 'ready' ? deps.fallback.bundle.labels : null);
  const stats = new StatsStore(deps.redis, deps.keys);
  const liveStats = new LiveStats({
    stats,
    feedback: new FeedbackReader(deps.redis, deps.keys),
    // The served bundle's config.json, parsed once by the fallback loader.
    driftReference: () =>
      deps.fallback.status === 'ready'
        ? { modelVersion: deps.fallback.bundle.modelVersion, reference: deps.fallback.bundle.config ? driftReferenceOf(deps.fallback.bundle.config) : null }
        : { modelVersion: 'unknown', reference: null },
    driftMinSamples: deps.driftMinSamples,
  });
  const prometheus = createPrometheus({ ...deps, v1Queue, liveStats });
  // Remembers the mount point so request metrics can label a route by its full pattern, and
  // the router, so the route-coverage test can hold the served routes against the OpenAPI document.
  const mounted: MountedRouter[] = [];
  (app.locals as Record<symbol, unknown>)[MOUNTED_ROUTERS] = mounted;
  const mount = (base: string, router: express.Router) => {
    mounted.push({ base, router });
    if (base === '') app.use(router);
    else
      app.use(base, (_req, res, next) => {
        res.locals[ROUTE_BASE] = base;
        next();
      }, router);
  };

  const rateLimit = scopeRateLimits({ redis: deps.redis, keyPrefix: deps.keys.rateLimit, logger: deps.logger, ...deps.rateLimit });
  (app.locals as Record<symbol, unknown>)[SCOPE_RATE_LIMIT] = rateLimit;
  const securityHeaders = helmet();
  const reportError = errorReporter(deps.retryAfterSeconds, deps.logger);
  const auth = { mode: deps.auth, apiKeys: deps.apiKeys };

  app.use(requestContext(deps.logger));
  app.use(securityHeaders);
  app.use(prometheus.middleware);
  // Static files of the console; its API calls carry the key like any other client's.
  app.use('/console', consoleRouter(deps.consoleDir));
  // Open: probes and the API's documentation work without a key.
  mount('', healthRouter({ ...deps, v1Queue }));
  const document = openApiDocument({ queueLabels: queueLabels() });
  mount('', docsRouter(document));
  const documentedPaths = documentedPathMethods(document);
  app.use(documentedOptions(documentedPaths));
  app.use(methodNotAllowed(documentedPaths));
  app.use(authenticate(auth));
  mount('', metricsRouter({ prometheus, modelMetrics: deps.modelMetrics }));
  mount('/v1/tickets', v1TicketsRouter({ ...deps, v1Queue, requireRedis }));
  // Before ticketsRouter, so /next is not read as a ticket id.
  mount('/v2/tickets', agentRouter({ ...deps, queueLabels, requireRedis, stats }));
  // before the tickets router, whose /:id would answer /waiting with a 404
  mount('/v2', waitingRouter({ ...deps, requireRedis }));
  mount('/v2/tickets', ticketsRouter({ ...deps, requireRedis }));
  mount('/v2', alertsRouter({ ...deps, requireRedis }));
  mount('/v2', learningRouter({ ...deps, stats, liveStats, requireRedis, requireAdmin: requireScope('admin'), requireReviewer: requireScope('agent', 'admin') }));
  mount('/v2', modelsRouter({ ...deps, requireRedis, requireAdmin: requireScope('admin') }));
  mount('/v2/tickets', explainRouter({ ...deps, requireRedis }));
  app.use(notFound);
  app.use(errorHandler(reportError));

  const accept = ticketAcceptRoute({ ...deps, auth, rateLimit, securityHeaders, prometheus, reportError });
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (accept.matches(req)) accept.handle(req, res);
    else app(req, res);
  };
  return Object.assign(listener, { express: app, outsideExpress: [`${ACCEPT_ROUTE.method} ${ACCEPT_ROUTE.path}`] });
}
