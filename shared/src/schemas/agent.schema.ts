import { z } from 'zod';
import { ticketIdSchema } from './ticket-id.schema';
import { correctionSchema, prioritySchema } from './ticket.schema';

export const NOTE_MAX = 2_000;

/** An agent as stored in leases and corrections: an API key id, or X-Agent-Id while auth is off. */
export const agentIdSchema = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, '1-128 letters, digits or "_.:@-"');

/**
 * POST /v2/tickets/:id/feedback, and the optional body of /ack. Queue and priority are checked
 * against the active model's labels by the route (they change with the model).
 */
export const correctionFieldsSchema = z.strictObject({
  queue: z.string().min(1).max(200).optional(),
  priority: prioritySchema.optional(),
  urgency: z.number().min(0).max(1).optional(),
  // The pattern (rather than min(1)) puts "not blank" into the OpenAPI document as well.
  note: z.string().trim().max(NOTE_MAX).regex(/\S/, 'must not be blank').optional(),
});
export type CorrectionFields = z.infer<typeof correctionFieldsSchema>;

export const correctionRequestSchema = correctionFieldsSchema.refine(
  (c) => c.queue !== undefined || c.priority !== undefined || c.urgency !== undefined || c.note !== undefined,
  { message: 'give at least one of queue, priority, urgency, note' },
);

/** 201 answer of POST /v2/tickets/:id/feedback. */
export const correctionResponseSchema = z.object({
  ticket_id: ticketIdSchema,
  /** Id of the entry in the feedback stream. */
  feedback_id: z.string(),
  correction: correctionSchema,
});
export type CorrectionResponse = z.infer<typeof correctionResponseSchema>;

/**
 * One entry of the `<prefix>:feedback` stream (Redis stream values are strings). It snapshots
 * the ticket text and the prediction, so an export still works after the ticket record expired.
 */
export const feedbackEntrySchema = z.object({
  ticket_id: ticketIdSchema,
  agent_id: agentIdSchema,
  at: z.iso.datetime(),
  queue: z.string().optional(),
  priority: prioritySchema.optional(),
  urgency: z.coerce.number().min(0).max(1).optional(),
  note: z.string().optional(),
  predicted_queue: z.string(),
  predicted_urgency: z.coerce.number(),
  model_version: z.string(),
  subject: z.string(),
  body: z.string(),
  language: z.string().optional(),
});
export type FeedbackEntry = z.infer<typeof feedbackEntrySchema>;
