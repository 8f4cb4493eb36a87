import { z } from 'zod';
import { ticketIdSchema } from './ticket-id.schema';
import { BODY_MAX, SUBJECT_MAX, modelUsedSchema } from './ticket.schema';

/** Data of an `explain` job; the worker parses it again (the queue is a trust boundary). */
export const explainJobSchema = z.strictObject({
  ticket_id: ticketIdSchema,
  subject: z.string().max(SUBJECT_MAX).optional(),
  body: z.string().min(1).max(BODY_MAX),
});
export type ExplainJobData = z.output<typeof explainJobSchema>;

/**
 * One word of the ticket and how much it moved the prediction. Weights are in probability units of the
 * blend before its calibration (the mixture w·p_encoder + (1 − w)·p_ngram for the queue, the urgency score
 * itself for urgency): positive pushes toward the predicted queue (or toward urgent), negative away.
 */
export const evidenceSpanSchema = z.object({
  field: z.enum(['subject', 'body']),
  /** UTF-16 offsets into that field of the ticket, as a browser's String indexes them. */
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  text: z.string(),
  weight: z.number(),
  /** The n-gram model's exact linear share (gradient × input), already scaled by its blend weight. */
  ngram: z.number(),
  /**
   * The encoder's share by occlusion: how much taking the word's segment out of the text lowers the encoder's
   * part, spread evenly over its words; in a short ticket's strongest segment, its part's own fall plus an even
   * share of what the parts' falls leave of the segment's.
   */
  encoder: z.number(),
});
export type EvidenceSpan = z.infer<typeof evidenceSpanSchema>;

/** GET /v2/tickets/:id/explain */
export const explanationSchema = z.object({
  ticket_id: ticketIdSchema,
  model_version: z.string(),
  /** `encoder`: the served blend was explained; `fallback`: the encoder is unavailable, n-gram model only. */
  model_used: modelUsedSchema,
  queue: z.object({ category: z.string(), probability: z.number(), evidence: z.array(evidenceSpanSchema) }),
  urgency: z.object({ score: z.number(), evidence: z.array(evidenceSpanSchema) }),
  /** Encoder runs with a part of the text taken out: the segments, plus the parts of a short ticket's strongest segment (0 with the fallback). */
  occlusion_segments: z.number().int().min(0),
  /** Time the worker spent on this explanation. */
  compute_ms: z.number(),
});
export type Explanation = z.infer<typeof explanationSchema>;
