import { z } from 'zod';
import { ticketIdSchema } from './ticket-id.schema';

/**
 * Urgency levels of the synchronous /v1 API (the seed API's scale): 1 = high … 5 = normal.
 * Five equal-width bands of urgency_score: ≥ 0.8 → 1, ≥ 0.6 → 2, ≥ 0.4 → 3, ≥ 0.2 → 4, else 5.
 * With the training targets (high 0.9, medium 0.5, low 0.15) a confident "high" lands on 1,
 * "medium" on 3 and "low" on 5; the levels between hold the model's uncertain scores.
 */
export const URGENCY_LEVELS = 5;

export function urgencyLevel(urgencyScore: number): number {
  const band = Math.floor(Math.min(1, Math.max(0, urgencyScore)) * URGENCY_LEVELS);
  return URGENCY_LEVELS - Math.min(URGENCY_LEVELS - 1, band);
}

export const urgencyLevelSchema = z.number().int().min(1).max(URGENCY_LEVELS);

/** POST /v1/tickets → 201, and what /v1/tickets/next and /peek return. */
export const v1TicketSchema = z.object({
  ticket_id: ticketIdSchema,
  subject: z.string().nullable(),
  body: z.string(),
  category: z.string(),
  urgency_level: urgencyLevelSchema,
  urgency_score: z.number().min(0).max(1),
  queued_at: z.iso.datetime(),
}).meta({ id: 'V1Ticket' });
export type V1Ticket = z.infer<typeof v1TicketSchema>;

export const v1StatusResponseSchema = z.object({ depth: z.number().int().min(0) });
export const v1DrainResponseSchema = z.object({ drained: z.number().int().min(0) });
