import { z } from 'zod';

export const statsQuerySchema = z.strictObject({ window: z.string().default('24h') });
export const reviewQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const accuracy = z.object({ accuracy: z.number().nullable(), n: z.number().int() });

export const liveAccuracySchema = z.object({
  overall: z.number().nullable(),
  n: z.number().int(),
  by_queue: z.record(z.string(), accuracy),
  by_model_version: z.record(z.string(), accuracy),
});
export type LiveAccuracy = z.infer<typeof liveAccuracySchema>;

export const statsResponseSchema = z.object({
  window: z.string(),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  resolution: z.enum(['minute', 'hour']),
  tickets: z.object({
    processed: z.number().int(),
    by_queue: z.record(z.string(), z.number().int()),
    by_action: z.record(z.string(), z.number().int()),
    by_model_used: z.record(z.string(), z.number().int()),
    by_model_version: z.record(z.string(), z.number().int()),
  }),
  automation_rate: z.number().nullable(),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  agents: z.object({ leases: z.number().int(), acks: z.number().int(), releases: z.number().int(), sla_breaches: z.number().int(), corrections: z.number().int() }),
  live_accuracy: liveAccuracySchema,
});
export type StatsResponse = z.infer<typeof statsResponseSchema>;

export const driftResponseSchema = z.object({
  window: z.string(),
  model_version: z.string(),
  min_samples: z.number().int(),
  signals: z.array(
    z.object({
      signal: z.enum(['predicted_queue', 'urgency', 'input_tokens']),
      psi: z.number().nullable(),
      band: z.enum(['stable', 'watch', 'act']).nullable(),
      n: z.number().int(),
      bins: z.array(z.object({ bin: z.string(), reference: z.number(), current: z.number() })),
    }),
  ),
});
export type DriftResponse = z.infer<typeof driftResponseSchema>;

export const reviewResponseSchema = z.object({
  tickets: z.array(
    z.object({
      ticket_id: z.string(),
      margin: z.number(),
      category: z.string().nullable(),
      confidence: z.number().nullable(),
      top3: z.array(z.object({ category: z.string(), probability: z.number() })).nullable(),
      subject: z.string().nullable(),
      body: z.string(),
      status: z.string(),
      model_version: z.string().nullable(),
      processed_at: z.string().nullable(),
    }),
  ),
});
export type ReviewResponse = z.infer<typeof reviewResponseSchema>;
