import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RedisClient, TicketStore, WorkerRegistry } from '@triage/shared';
import type { LiveStats } from '../learning/live-stats';
import { breakerCounts } from './breaker-counts';
import type { FallbackState } from '../v1/fallback-state';
import type { V1Queue } from '../v1/v1-queue';

export interface PrometheusDeps {
  redis: RedisClient;
  store: TicketStore;
  registry: WorkerRegistry;
  v1Queue: V1Queue;
  fallback: FallbackState;
  liveStats: LiveStats;
}

/** The window the live-statistics gauges cover (GET /v2/stats?window=24h gives the same figures). */
const STATS_WINDOW = { text: '24h', ms: 86_400_000 };

export interface Prometheus {
  register: Registry;
  /** Counts and times every request by route pattern (never the raw path: ids would explode cardinality). */
  middleware: RequestHandler;
  /** The same for a request served outside Express, whose route pattern `route` names once it is answered. */
  track(req: IncomingMessage, res: ServerResponse, route: () => string): void;
}

/** Where a router is mounted, so a route's label is its full pattern even when the request failed. */
export const ROUTE_BASE = 'routeBase';

function routeLabel(req: Parameters<RequestHandler>[0], locals: Record<string, unknown>): string {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path !== 'string') return 'unmatched';
  const base = typeof locals[ROUTE_BASE] === 'string' ? locals[ROUTE_BASE] : '';
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
    help: 'Tickets per queue: v2 pending/processing/waiting_for_agent/leased, and the synchronous v1 queue',
    labelNames: ['queue'],
    registers: [register],
    async collect() {
      this.reset();
      if (!redisReady()) return;
      const [counts, v1] = await Promise.all([deps.store.statusCounts(), deps.v1Queue.depth()]).catch(() => [null, null] as const);
      if (counts === null) return;
      this.set({ queue: 'v1' }, v1);
      for (const queue of ['pending', 'processing', 'waiting_for_agent', 'leased'] as const) this.set({ queue }, counts[queue]);
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
      if (deps.fallback.status === 'ready') this.set({ model: 'gateway_fallback', version: deps.fallback.bundle.modelVersion }, 1);
      if (!redisReady()) return;
      const workers = await deps.registry.live().catch(() => []);
      for (const version of new Set(workers.map((w) => w.model_version))) this.set({ model: 'worker', version }, 1);
    },
  });

  registerLiveStats(register, deps, redisReady);

  const track = (req: IncomingMessage, res: ServerResponse, route: () => string) => {
    const stop = duration.startTimer();
    res.on('finish', () => {
      const labels = { method: req.method ?? '', route: route(), status: String(res.statusCode) };
      stop(labels);
      requests.inc(labels);
    });
  };
  const middleware: RequestHandler = (req, res, next) => {
    track(req, res, () => routeLabel(req, res.locals));
    next();
  };
  return { register, middleware, track };
}

/** /v2/stats and /v2/monitoring/drift as gauges, read at scrape time over the last 24 hours. */
function registerLiveStats(register: Registry, deps: PrometheusDeps, redisReady: () => boolean): void {
  // One Redis read per scrape serves every gauge below.
  let pending: { at: number; value: Promise<Awaited<ReturnType<LiveStats['stats']>> | null> } | undefined;
  const current = () => {
    if (!pending || Date.now() - pending.at > 1_000) {
      pending = { at: Date.now(), value: redisReady() ? deps.liveStats.stats(STATS_WINDOW.text, STATS_WINDOW.ms).catch(() => null) : Promise.resolve(null) };
    }
    return pending.value;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: NonNullable<Awaited<ReturnType<typeof current>>>) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [register],
      async collect() {
        this.reset();
        const s = await current();
        if (s) fill(this, s);
      },
    });
  const each = (g: Gauge, label: string, rec: Record<string, number>) => Object.entries(rec).forEach(([k, v]) => g.set({ [label]: k }, v));
  gauge('triage_tickets_processed_24h', 'Tickets processed in the last 24 h by predicted queue', ['queue'], (g, s) => each(g, 'queue', s.tickets.by_queue));
  gauge('triage_tickets_action_24h', 'Tickets processed in the last 24 h by action', ['action'], (g, s) => each(g, 'action', s.tickets.by_action));
  gauge('triage_tickets_model_used_24h', 'Tickets processed in the last 24 h by model used', ['model_used'], (g, s) => each(g, 'model_used', s.tickets.by_model_used));
  gauge('triage_automation_rate_24h', 'AUTO_ROUTE share of the last 24 h', [], (g, s) => s.automation_rate !== null && g.set(s.automation_rate));
  gauge('triage_accept_to_processed_ms_24h', 'Accept → processed latency quantiles over the last 24 h', ['quantile'], (g, s) => {
    if (s.latency_ms.p50 !== null) g.set({ quantile: '0.5' }, s.latency_ms.p50);
    if (s.latency_ms.p95 !== null) g.set({ quantile: '0.95' }, s.latency_ms.p95);
  });
  gauge('triage_agent_events_24h', 'Leases, acks, releases, SLA breaches and corrections in the last 24 h', ['event'], (g, s) => each(g, 'event', s.agents));
  gauge('triage_live_accuracy_24h', 'Share of reviewed tickets whose predicted queue the agent kept (last 24 h)', ['scope', 'key'], (g, s) => {
    const a = s.live_accuracy;
    if (a.overall !== null) g.set({ scope: 'overall', key: 'all' }, a.overall);
    for (const [k, v] of Object.entries(a.by_queue)) if (v.accuracy !== null) g.set({ scope: 'queue', key: k }, v.accuracy);
    for (const [k, v] of Object.entries(a.by_model_version)) if (v.accuracy !== null) g.set({ scope: 'model_version', key: k }, v.accuracy);
  });
  gauge('triage_live_accuracy_reviewed_24h', 'Reviewed tickets behind triage_live_accuracy_24h', [], (g, s) => g.set(s.live_accuracy.n));
  new Gauge({
    name: 'triage_drift_psi',
    help: 'Population stability index of the last 24 h vs the active model\'s training reference (<0.1 stable, <0.25 watch, ≥0.25 act)',
    labelNames: ['signal'],
    registers: [register],
    async collect() {
      this.reset();
      if (!redisReady()) return;
      const drift = await deps.liveStats.drift(STATS_WINDOW.text, STATS_WINDOW.ms).catch(() => null);
      for (const s of drift?.signals ?? []) if (s.psi !== null) this.set({ signal: s.signal }, s.psi);
    },
  });
}
