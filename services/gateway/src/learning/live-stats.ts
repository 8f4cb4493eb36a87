import {
  type DriftReference,
  type DriftResponse,
  type FeedbackReader,
  type RedisClient,
  type StatsResponse,
  type StatsStore,
  type RedisKeys,
  computeDrift,
  latencyBinUpperMs,
  latestPerTicket,
  liveAccuracy,
  quantileOf,
} from '@triage/shared';

export interface LiveStatsDeps {
  stats: StatsStore;
  feedback: FeedbackReader;
  /** The active model's version and drift reference (they change with a promotion). */
  driftReference: () => { modelVersion: string; reference: DriftReference | null };
  /** A drift signal needs at least this many tickets in the window before it gets a PSI. */
  driftMinSamples: number;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The figures of GET /v2/stats, /v2/monitoring/drift and their Prometheus gauges, from one place. */
export class LiveStats {
  constructor(private readonly deps: LiveStatsDeps) {}

  async stats(windowText: string, windowMs: number, now = Date.now()): Promise<StatsResponse> {
    const [counts, feedback] = await Promise.all([this.deps.stats.window(windowMs, now), this.deps.feedback.since(now - windowMs)]);
    const corrections = latestPerTicket(feedback.entries);
    const p50 = quantileOf(counts.latency, 0.5);
    const p95 = quantileOf(counts.latency, 0.95);
    const auto = counts.byAction.AUTO_ROUTE ?? 0;
    return {
      window: windowText,
      from: new Date(now - windowMs).toISOString(),
      to: new Date(now).toISOString(),
      resolution: counts.range.resolution === 'm' ? 'minute' : 'hour',
      tickets: {
        processed: counts.processed,
        by_queue: counts.byQueue,
        by_action: counts.byAction,
        by_model_used: counts.byModelUsed,
        by_model_version: counts.byModelVersion,
      },
      automation_rate: counts.processed > 0 ? auto / counts.processed : null,
      latency_ms: { p50: p50 === null ? null : round(latencyBinUpperMs(p50)), p95: p95 === null ? null : round(latencyBinUpperMs(p95)) },
      agents: {
        leases: counts.events.lease ?? 0,
        acks: counts.events.ack ?? 0,
        releases: counts.events.release ?? 0,
        sla_breaches: counts.events.sla_breach ?? 0,
        corrections: feedback.entries.length,
      },
      live_accuracy: liveAccuracy(corrections, counts.verdicts),
    };
  }

  async drift(windowText: string, windowMs: number, now = Date.now()): Promise<DriftResponse | null> {
    const { modelVersion, reference } = this.deps.driftReference();
    if (!reference) return null;
    const counts = await this.deps.stats.window(windowMs, now);
    return {
      window: windowText,
      model_version: modelVersion,
      min_samples: this.deps.driftMinSamples,
      signals: computeDrift(reference, counts, this.deps.driftMinSamples),
    };
  }
}

const REVIEW_FIELDS = ['status', 'category', 'confidence', 'top3', 'subject', 'body', 'model_version', 'processed_at', 'correction'] as const;

/** The review list, filtered to tickets that still exist and that nobody labelled yet. */
export async function reviewList(stats: StatsStore, redis: RedisClient, keys: RedisKeys, limit: number) {
  // Labelled or expired tickets are skipped, so look a few times further than asked.
  const candidates = await stats.reviewCandidates(limit * 4);
  const pipeline = redis.pipeline();
  for (const c of candidates) pipeline.hmget(keys.ticket(c.ticketId), ...REVIEW_FIELDS);
  const replies = (await pipeline.exec()) ?? [];
  const out = [];
  for (const [i, c] of candidates.entries()) {
    const [err, values] = replies[i] ?? [null, null];
    if (err || !values) continue;
    const t = Object.fromEntries(REVIEW_FIELDS.map((f, k) => [f, (values as (string | null)[])[k] ?? null])) as Record<(typeof REVIEW_FIELDS)[number], string | null>;
    // An agent acked it (kept the prediction) or corrected it: either way it is labelled.
    if (t.status === null || t.body === null || t.category === null || t.correction !== null) continue;
    if (t.status !== 'processed' && t.status !== 'leased') continue;
    out.push({
      ticket_id: c.ticketId,
      margin: c.margin,
      category: t.category,
      confidence: t.confidence === null ? null : Number(t.confidence),
      top3: t.top3 === null ? null : (JSON.parse(t.top3) as { category: string; probability: number }[]),
      subject: t.subject,
      body: t.body,
      status: t.status,
      model_version: t.model_version,
      processed_at: t.processed_at,
    });
    if (out.length === limit) break;
  }
  return out;
}
