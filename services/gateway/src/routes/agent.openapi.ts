import { z } from 'zod';
import { correctionFieldsSchema, correctionResponseSchema, ticketResponseSchema } from '@triage/shared';
import { type RouteDocs, error, headers, json } from '../openapi/api-doc';
import { TICKET_EXAMPLE, TICKET_ID_EXAMPLE, ticketIdParams } from './tickets.openapi';

const LEASED_EXAMPLE = {
  ...TICKET_EXAMPLE,
  status: 'leased',
  lease: { agent_id: '9c1f0e22a4b7d3e1', leased_at: '2026-12-01T09:31:00.000Z', expires_at: '2026-12-01T09:46:00.000Z' },
  sla: { due_at: '2026-12-01T13:30:00.000Z', state: 'met' },
};
const notFound = error('No such ticket.', `ticket ${TICKET_ID_EXAMPLE} not found`);
const notHolder = error('The caller does not hold the lease (another agent does, it expired, or the ticket is not leased).', `ticket ${TICKET_ID_EXAMPLE} is leased by another agent (0f3e…)`);
const unchecked = error('The model bundle is unavailable, so a correction cannot be checked (or Redis is unreachable).', 'the model bundle is unavailable, so corrections cannot be checked; retry later');

/**
 * The correction body as the route checks it: the queue is one of the served model's labels
 * (when the bundle loaded), and POST /feedback needs at least one field (correctionRequestSchema's
 * refine; with no other fields allowed, that is minProperties 1).
 */
const correctionBody = (labels: readonly string[] | null) =>
  labels && labels.length > 0 ? correctionFieldsSchema.extend({ queue: z.enum(labels as [string, ...string[]]).optional() }) : correctionFieldsSchema;

/** The agents' workflow (agent.routes.ts): lease the next ticket, then ack, release or extend it; corrections. */
export const agentRouteDocs: RouteDocs = (doc) => {
  const correction = correctionBody(doc.context.queueLabels);
  doc.route({
    method: 'get',
    path: '/v2/tickets/next',
    operationId: 'leaseNextTicket',
    summary: 'Lease the most urgent triaged ticket',
    description: 'Takes the ticket with the highest effective priority (urgency plus aging) and leases it to the caller; an expired lease returns it to the queue.',
    tags: ['agents'],
    access: ['agent'],
    responses: {
      200: json(ticketResponseSchema, 'The ticket, now leased to the caller.', { example: LEASED_EXAMPLE }),
      404: error('No processed ticket is waiting.', 'no processed ticket is waiting for an agent'),
    },
  });
  doc.route({
    method: 'post',
    path: '/v2/tickets/{id}/ack',
    operationId: 'ackTicket',
    summary: 'Finish a leased ticket (optionally with a correction)',
    description: 'Only the lease holder may ack. An optional JSON body carries a correction (queue, priority, urgency, note).',
    tags: ['agents'],
    access: ['agent'],
    request: { params: ticketIdParams },
    jsonBody: { schema: correction, required: false, example: { queue: 'Billing and Payments', note: 'refund issued' } },
    responses: { 200: json(ticketResponseSchema, 'The ticket, now done.'), 404: notFound, 409: notHolder, 503: unchecked },
  });
  for (const [action, summary, done] of [
    ['release', 'Give a leased ticket back to the queue', 'The ticket, back in the queue.'],
    ['extend', 'Extend the lease of a ticket', 'The ticket with its new lease expiry.'],
  ] as const) {
    doc.route({
      method: 'post',
      path: `/v2/tickets/{id}/${action}`,
      operationId: `${action}Ticket`,
      summary,
      description: 'Only the lease holder may do this.',
      tags: ['agents'],
      access: ['agent'],
      request: { params: ticketIdParams },
      responses: { 200: json(ticketResponseSchema, done), 404: notFound, 409: notHolder },
    });
  }
  doc.route({
    method: 'post',
    path: '/v2/tickets/{id}/feedback',
    operationId: 'correctTicket',
    summary: 'Record a correction of the triage result',
    description: 'The queue must be one of the served model’s labels. Every correction lands in the feedback stream the learning loop trains on.',
    tags: ['agents'],
    access: ['agent'],
    request: { params: ticketIdParams },
    jsonBody: { schema: correction.meta({ minProperties: 1 }), example: { queue: 'Technical Support', priority: 'high', note: 'outage, not billing' } },
    responses: {
      201: json(correctionResponseSchema, 'Recorded.', {
        headers: headers('Location'),
        example: {
          ticket_id: TICKET_ID_EXAMPLE,
          feedback_id: '1764581460000-0',
          correction: { queue: 'Technical Support', priority: 'high', urgency: null, note: 'outage, not billing', agent_id: '9c1f0e22a4b7d3e1', at: '2026-12-01T09:31:00.000Z' },
        },
      }),
      404: notFound,
      409: error('The ticket has no triage result yet.', `ticket ${TICKET_ID_EXAMPLE} has no triage result yet (status pending)`),
      503: unchecked,
    },
  });
};
