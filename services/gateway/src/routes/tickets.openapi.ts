import { z } from 'zod';
import {
  createTicketRequestSchema,
  createTicketResponseSchema,
  createTicketsBatchRequestSchema,
  createTicketsBatchResponseSchema,
  idempotencyKeySchema,
  statusCountsResponseSchema,
  ticketResponseSchema,
} from '@triage/shared';
import { JSON_BODY_LIMIT } from '../middleware/json-body.middleware';
import { type RouteDocs, error, headers, json } from '../openapi/api-doc';

export const TICKET_ID_EXAMPLE = '3f0c8a62-5d7e-4b8f-9a53-2f1c6d0e9b47';
export const ticketIdParams = z.object({ id: z.string().meta({ description: 'Ticket id (a UUID).', example: TICKET_ID_EXAMPLE }) });

export const TICKET_EXAMPLE = {
  ticket_id: TICKET_ID_EXAMPLE,
  subject: 'Charged twice for my subscription',
  body: 'Hello, my card was charged twice this month for the same plan. Please refund one of the payments.',
  customer_id: 'cust-1042',
  channel: 'email',
  metadata: { plan: 'pro' },
  status: 'processed',
  category: 'Billing and Payments',
  confidence: 0.91,
  top3: [
    { category: 'Billing and Payments', probability: 0.91 },
    { category: 'Customer Service', probability: 0.05 },
    { category: 'Returns and Exchanges', probability: 0.02 },
  ],
  urgency_score: 0.62,
  action: 'AUTO_ROUTE',
  model_version: 'sha256:5b1d…',
  model_used: 'encoder',
  accepted_at: '2026-12-01T09:30:00.000Z',
  processed_at: '2026-12-01T09:30:00.210Z',
  timings: { queue_ms: 12, inference_ms: 180 },
  effective_priority: 0.64,
  sla: { due_at: '2026-12-01T13:30:00.000Z', state: 'on_track' },
  lease: null,
  done: null,
  correction: null,
};

const notFound = error('No such ticket (or, for a client key, not one it submitted).', `ticket ${TICKET_ID_EXAMPLE} not found`);

/** POST /v2/tickets and /batch, GET /v2/tickets/status and /{id}. */
export const ticketRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'post',
    path: '/v2/tickets',
    operationId: 'createTicket',
    summary: 'Submit a ticket for triage',
    description:
      'Stores the ticket and queues it for a worker; it is triaged within moments (poll `Location`). With an `Idempotency-Key` a retry ' +
      'returns the first ticket instead of making a second one; keys belong to the API key that sent them.',
    tags: ['tickets'],
    access: ['client'],
    request: {
      headers: z.object({
        'Idempotency-Key': idempotencyKeySchema.optional().meta({ description: 'Makes retries safe: the same key (from the same API key) returns the same ticket.', example: 'order-7731-refund' }),
      }),
    },
    jsonBody: {
      schema: createTicketRequestSchema,
      example: { subject: 'Charged twice for my subscription', body: 'My card was charged twice this month.', customer_id: 'cust-1042', channel: 'email', metadata: { plan: 'pro' } },
    },
    responses: {
      202: json(createTicketResponseSchema, 'Accepted (or replayed for a known Idempotency-Key).', {
        headers: headers('Location', 'Idempotent-Replayed'),
        example: { ticket_id: TICKET_ID_EXAMPLE, status: 'accepted', message: 'ticket accepted for triage', accepted_at: '2026-12-01T09:30:00.000Z' },
      }),
      409: error('The Idempotency-Key refers to a ticket that no longer exists.', 'Idempotency-Key refers to a ticket that no longer exists'),
    },
  });
  doc.route({
    method: 'post',
    path: '/v2/tickets/batch',
    operationId: 'createTicketsBatch',
    summary: 'Submit up to 100 tickets at once',
    description:
      'Each item is a `POST /v2/tickets` body plus an optional `idempotency_key` (like the header, per item). Valid items are accepted ' +
      'even when others are invalid: the answer has one result per item, in order. At most `BATCH_MAX_ITEMS` items (100 by default).',
    tags: ['tickets'],
    access: ['client'],
    jsonBody: {
      schema: createTicketsBatchRequestSchema,
      example: {
        tickets: [
          { subject: 'Charged twice for my subscription', body: 'My card was charged twice this month.', customer_id: 'cust-1042', idempotency_key: 'order-7731-refund' },
          { body: '' },
        ],
      },
    },
    responses: {
      202: json(createTicketsBatchResponseSchema, 'One result per item, in order: accepted (maybe replayed) or invalid.', {
        example: {
          results: [
            { index: 0, status: 'accepted', ticket_id: TICKET_ID_EXAMPLE, location: `/v2/tickets/${TICKET_ID_EXAMPLE}`, accepted_at: '2026-12-01T09:30:00.000Z' },
            { index: 1, status: 'invalid', errors: [{ path: 'body', message: 'Too small: expected string to have >=1 characters' }] },
          ],
        },
      }),
      413: error(`More items than BATCH_MAX_ITEMS, or a body over ${JSON_BODY_LIMIT.text}.`, 'too many tickets in one batch: 101 (limit 100)'),
    },
  });
  doc.route({
    method: 'get',
    path: '/v2/tickets/status',
    operationId: 'getTicketStatusCounts',
    summary: 'How many tickets are in each state',
    tags: ['tickets'],
    access: ['agent', 'admin'],
    responses: {
      200: json(statusCountsResponseSchema, 'Counts per state.', {
        example: { pending: 2, processing: 1, processed: 5, leased: 3, done: 40, failed: 0, waiting_for_agent: 5 },
      }),
    },
  });
  doc.route({
    method: 'get',
    path: '/v2/tickets/{id}',
    operationId: 'getTicket',
    summary: 'Read a ticket and its triage result',
    description: 'A `client` key reads only tickets it submitted; `agent` and `admin` keys read any.',
    tags: ['tickets'],
    access: ['agent', 'admin', 'client'],
    request: { params: ticketIdParams },
    responses: { 200: json(ticketResponseSchema, 'The ticket.', { example: TICKET_EXAMPLE }), 404: notFound },
  });
};
