import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TicketStore, WorkerRegistry } from '@triage/shared';
import { breakerCounts } from './breaker-counts';
import type { FallbackState } from '../v1/fallback-state';
import type { V1Queue } from '../v1/v1-queue';

export interface PrometheusDeps {
  redis: Redis;
  store: TicketStore;
  registry: WorkerRegistry;
  v1Queue: V1Queue;
  fallback: FallbackState;
}

export interface Prometheus {
  register: Registry;
  /** Counts and times every request by route pattern (never the raw path: ids would explode cardinality). */
  middleware: RequestHandler;
}

/** Where a router is mounted, so a route's label is its full pattern even when the request failed. */
export const ROUTE_BASE = 'routeBase';

function routeLabel(req: Parameters<RequestHandler>[0], locals: Record<string, unknown>): string {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path !== 'string') return 'unmatched';
  const base = typeof locals[ROUTE_BASE] === 'string' ? (locals[ROUTE_BASE] as string) : '';
  return route.path === '/' && base ? base : `${base}${route.path}`;
}

/**
 * One registry per app (not prom-client's global one), so several apps in one process — tests —
 * never share counters. Gauges read Redis at scrape time and stay empty while it is unreachable.
 */
export function createPrometheus(deps: PrometheusDeps): Prometheus {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'triage_gateway_' });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'triage_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames, registers: [register] });
  const duration = new Histogram({
    name: 'triage_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [register],
  });

  const redisReady = () => deps.redis.status === 'ready';
  new Gauge({
    name: 'triage_queue_depth',
    help: 'Tickets per queue: v2 pending/processing/waiting_for_agent, and the synchronous v1 queue',
    labelNames: ['queue'],
    registers: [register],
    async collect() {
      this.reset();
      if (!redisReady()) return;
      const [counts, v1] = await Promise.all([deps.store.statusCounts(), deps.v1Queue.depth()]).catch(() => [null, null] as const);
      if (counts === null) return;
      this.set({ queue: 'v1' }, v1);
      for (const queue of ['pending', 'processing', 'waiting_for_agent'] as const) this.set({ queue }, counts[queue]);
    },
  });
  new Gauge({
    name: 'triage_encoder_breaker_workers',
    help: 'Live workers by encoder circuit breaker state (open/half_open = serving the n-gram fallback)',
    labelNames: ['state'],
    registers: [register],
    async collect() {
      this.reset();
      if (!redisReady()) return;
      const workers = await deps.registry.live().catch(() => null);
      if (workers === null) return;
      for (const [state, count] of Object.entries(breakerCounts(workers))) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'triage_model_info',
    help: 'Loaded models (value 1): the gateway fallback and every version live workers report',
    labelNames: ['model', 'version'],
    registers: [register],
    async collect() {
      this.reset();
      if (deps.fallback.status === 'ready') this.set({ model: 'gateway_fallback', version: deps.fallback.model.modelVersion }, 1);
      if (!redisReady()) return;
      const workers = await deps.registry.live().catch(() => []);
      for (const version of new Set(workers.map((w) => w.model_version))) this.set({ model: 'worker', version }, 1);
    },
  });

  const middleware: RequestHandler = (req, res, next) => {
    const stop = duration.startTimer();
    res.on('finish', () => {
      const labels = { method: req.method, route: routeLabel(req, res.locals), status: String(res.statusCode) };
      stop(labels);
      requests.inc(labels);
    });
    next();
  };
  return { register, middleware };
}
