import { z } from 'zod';
import { ticketIdSchema } from './ticket-id.schema';

export const SUBJECT_MAX = 500;
export const BODY_MAX = 20_000;

/** pending → processing → processed (waiting for an agent) → leased → done; leased → processed on release or expiry. */
export const TICKET_STATUSES = ['pending', 'processing', 'processed', 'leased', 'done', 'failed'] as const;
export const ticketStatusSchema = z.enum(TICKET_STATUSES);
export type TicketStatus = z.infer<typeof ticketStatusSchema>;

export const ACTIONS = ['AUTO_ROUTE', 'HUMAN_REVIEW', 'ESCALATE'] as const;
export const actionSchema = z.enum(ACTIONS);
export type TriageAction = z.infer<typeof actionSchema>;

const subject = z.string().max(SUBJECT_MAX);
const body = z
  .string()
  .min(1)
  .max(BODY_MAX)
  // A pattern rather than a refine, so the OpenAPI document says it too.
  .regex(/\S/, 'must not be blank');

export const METADATA_MAX_BYTES = 16 * 1024;
export const METADATA_MAX_DEPTH = 5;

const TOO_DEEP = `must be JSON nested at most ${METADATA_MAX_DEPTH} levels deep`;
const jsonScalar = z.union([z.string(), z.number(), z.boolean(), z.null()], { error: TOO_DEEP });
/**
 * A JSON value nesting at most `levels` more objects/arrays, spelled out level by level so the
 * OpenAPI document states the limit and validation stops at the limit instead of recursing on.
 */
function jsonValue(levels: number): z.ZodType {
  if (levels === 0) return jsonScalar.meta({ id: 'MetadataScalar' });
  const inner = jsonValue(levels - 1);
  return z.union([jsonScalar, z.array(inner), z.record(z.string(), inner)], { error: TOO_DEEP }).meta({ id: `MetadataValue${levels}` });
}

/** Free-form ticket metadata: an object at most METADATA_MAX_DEPTH levels deep and 16 KB as JSON. */
export const metadataSchema = z
  .record(z.string(), jsonValue(METADATA_MAX_DEPTH - 1))
  .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= METADATA_MAX_BYTES, `must be at most ${METADATA_MAX_BYTES / 1024} KB as JSON`)
  .meta({ id: 'Metadata', description: `Free-form JSON object: at most ${METADATA_MAX_DEPTH} levels deep and ${METADATA_MAX_BYTES / 1024} KB as JSON.` });

/** POST /v2/tickets body. `subject: null` is accepted because ~6 % of real tickets have none. */
export const createTicketRequestSchema = z.strictObject({
  subject: subject.nullish().transform((s) => s ?? undefined),
  body,
  customer_id: z.string().min(1).max(200).optional(),
  channel: z.string().min(1).max(50).optional(),
  metadata: metadataSchema.optional(),
}).meta({ id: 'CreateTicketRequest' });
export type CreateTicketRequest = z.output<typeof createTicketRequestSchema>;

// Printable ASCII keeps the header value safe to embed in a Redis key.
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters without spaces');

/** One item of POST /v2/tickets/batch: a POST /v2/tickets body plus its own idempotency key. */
export const batchTicketItemSchema = createTicketRequestSchema
  .extend({
    idempotency_key: idempotencyKeySchema.optional().meta({ description: 'Like the Idempotency-Key header of POST /v2/tickets, for this item alone.' }),
  })
  .meta({ id: 'BatchTicketItem' });

/**
 * The envelope of POST /v2/tickets/batch as the gateway checks it: items are validated one by one
 * afterwards, so a bad item is reported in its result instead of failing the batch.
 */
export const batchEnvelopeSchema = z.strictObject({ tickets: z.array(z.unknown()).min(1, 'must hold at least one ticket') });

/**
 * POST /v2/tickets/batch body, as documented (the item limit is BATCH_MAX_ITEMS, 100 by default).
 * An item of any other shape is not a bad request: it gets an `invalid` result of its own, so the
 * document admits any value beside the BatchTicketItem it describes.
 */
export const createTicketsBatchRequestSchema = z
  .strictObject({
    tickets: z
      .array(z.union([batchTicketItemSchema, z.unknown().meta({ description: 'Any other value: reported as invalid in its own result.' })]))
      .min(1),
  })
  .meta({ id: 'CreateTicketsBatchRequest', description: 'At most BATCH_MAX_ITEMS tickets (100 by default); more get 413.' });

const batchAcceptedSchema = z.object({
  index: z.int().nonnegative(),
  status: z.literal('accepted'),
  ticket_id: ticketIdSchema,
  location: z.string(),
  accepted_at: z.iso.datetime(),
  /** True when the item's idempotency_key was seen before and the earlier ticket came back. */
  replayed: z.literal(true).optional(),
});
const batchInvalidSchema = z.object({
  index: z.int().nonnegative(),
  status: z.literal('invalid'),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).min(1),
});

/** POST /v2/tickets/batch answer: one result per item, in the order of the request. */
export const createTicketsBatchResponseSchema = z
  .object({ results: z.array(z.discriminatedUnion('status', [batchAcceptedSchema, batchInvalidSchema])) })
  .meta({ id: 'TicketsBatchAccepted' });
export type BatchTicketResult = z.infer<typeof createTicketsBatchResponseSchema>['results'][number];

/** Data of a `triage` job; the worker parses it again because the queue is a trust boundary. */
/** A request id: the caller's X-Request-Id when it looks like this (else the gateway mints a UUID); it rides along in jobs and logs. */
export const requestIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);

export const triageJobSchema = z.strictObject({
  ticket_id: ticketIdSchema,
  subject: subject.optional(),
  body,
  accepted_at: z.iso.datetime(),
  request_id: requestIdSchema.optional(),
});
export type TriageJobData = z.output<typeof triageJobSchema>;

/** Which model produced a result: the ONNX encoder, or the n-gram fallback while its circuit breaker is open. */
export const MODELS_USED = ['encoder', 'fallback'] as const;
export const modelUsedSchema = z.enum(MODELS_USED);
export type ModelUsed = z.infer<typeof modelUsedSchema>;

export const queueProbabilitySchema = z.object({ category: z.string(), probability: z.number() });

export const createTicketResponseSchema = z.object({
  ticket_id: ticketIdSchema,
  status: z.literal('accepted'),
  message: z.string(),
  accepted_at: z.iso.datetime(),
}).meta({ id: 'TicketAccepted' });
export type CreateTicketResponse = z.infer<typeof createTicketResponseSchema>;

export const PRIORITIES = ['low', 'medium', 'high'] as const;
export const prioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof prioritySchema>;

/** The agent currently holding a ticket, and until when. */
export const leaseSchema = z.object({
  agent_id: z.string(),
  leased_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
});
export type Lease = z.infer<typeof leaseSchema>;

/**
 * on_track / at_risk (within SLA_WARN_BEFORE_MS of due) / breached while the ticket waits;
 * met / missed once an agent first took it (before or after due).
 */
export const SLA_STATES = ['on_track', 'at_risk', 'breached', 'met', 'missed'] as const;
export const slaSchema = z.object({ due_at: z.iso.datetime(), state: z.enum(SLA_STATES) });
export type Sla = z.infer<typeof slaSchema>;

/** The latest correction of a ticket (the feedback stream keeps every one). */
export const correctionSchema = z.object({
  queue: z.string().nullable(),
  priority: prioritySchema.nullable(),
  urgency: z.number().min(0).max(1).nullable(),
  note: z.string().nullable(),
  agent_id: z.string(),
  at: z.iso.datetime(),
});
export type Correction = z.infer<typeof correctionSchema>;

/** GET /v2/tickets/:id and /next. Field names match the seed API's clients. */
export const ticketResponseSchema = z.object({
  ticket_id: ticketIdSchema,
  subject: z.string().nullable(),
  body: z.string(),
  customer_id: z.string().nullable(),
  channel: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  status: ticketStatusSchema,
  category: z.string().nullable(),
  confidence: z.number().nullable(),
  top3: z.array(queueProbabilitySchema).nullable(),
  urgency_score: z.number().nullable(),
  action: actionSchema.nullable(),
  model_version: z.string().nullable(),
  model_used: modelUsedSchema.nullable(),
  accepted_at: z.iso.datetime(),
  processed_at: z.iso.datetime().nullable(),
  timings: z.object({ queue_ms: z.number(), inference_ms: z.number() }).nullable(),
  /** urgency_score + AGING_PER_HOUR × hours since accepted: what /next orders by. Null unless processed or leased. */
  effective_priority: z.number().nullable(),
  sla: slaSchema.nullable(),
  lease: leaseSchema.nullable(),
  done: z.object({ agent_id: z.string(), at: z.iso.datetime() }).nullable(),
  correction: correctionSchema.nullable(),
  error: z.string().optional(),
}).meta({ id: 'Ticket' });
export type TicketResponse = z.infer<typeof ticketResponseSchema>;

export const statusCountsResponseSchema = z.object({
  pending: z.number().int(),
  processing: z.number().int(),
  processed: z.number().int(),
  leased: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  waiting_for_agent: z.number().int(),
}).meta({ id: 'StatusCounts' });
export type StatusCountsResponse = z.infer<typeof statusCountsResponseSchema>;

/** Why an agent's action on a ticket was refused (409): for clients to act on without parsing the message. */
export const refusalCodeSchema = z
  .enum(['lease_expired', 'already_acknowledged', 'leased_by_another_agent', 'not_leased'])
  .meta({ id: 'RefusalCode' });
export type RefusalCode = z.infer<typeof refusalCodeSchema>;

export const errorResponseSchema = z.object({
  error: z.string(),
  code: refusalCodeSchema
    .optional()
    .describe("Set on the 409 of an agent's ack, release or extend: why the ticket is not the caller's to act on."),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}).meta({ id: 'Error' });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
