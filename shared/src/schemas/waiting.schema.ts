import { z } from 'zod';
import { ticketResponseSchema } from './ticket.schema';

/** GET /v2/tickets/waiting query. */
export const waitingQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** GET /v2/tickets/waiting: the tickets waiting for an agent, in the order GET /v2/tickets/next serves them. */
export const waitingResponseSchema = z.object({
  /** All tickets waiting, of which `tickets` lists the first `limit`. */
  total: z.number().int().min(0),
  tickets: z.array(ticketResponseSchema),
});
export type WaitingResponse = z.infer<typeof waitingResponseSchema>;

/** GET /v2/queues: the queues the served model predicts (and a correction may name). */
export const queuesResponseSchema = z.object({
  model_version: z.string().nullable(),
  queues: z.array(z.string()),
});
export type QueuesResponse = z.infer<typeof queuesResponseSchema>;
