import { createTicketRequestSchema, v1DrainResponseSchema, v1StatusResponseSchema, v1TicketSchema } from '@triage/shared';
import { type RouteDocs, error, json } from '../openapi/api-doc';
import { TICKET_ID_EXAMPLE } from './tickets.openapi';

const V1_TICKET_EXAMPLE = {
  ticket_id: TICKET_ID_EXAMPLE,
  subject: 'Server down',
  body: 'Our production server is not responding since 9:00.',
  category: 'Technical Support',
  urgency_level: 1,
  urgency_score: 0.87,
  queued_at: '2026-12-01T09:30:00.000Z',
};
const empty = error('The /v1 queue is empty.', 'the v1 queue is empty');

/** The seed API's synchronous /v1 path (n-gram model in the request). */
export const v1RouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'post',
    path: '/v1/tickets',
    operationId: 'v1CreateTicket',
    summary: '(v1) Classify a ticket synchronously and queue it',
    description: 'The seed API: classified in the request by the n-gram model, then queued by urgency level (1 = high … 5 = normal).',
    tags: ['v1'],
    access: ['client'],
    jsonBody: { schema: createTicketRequestSchema, example: { subject: 'Server down', body: 'Our production server is not responding since 9:00.' } },
    responses: {
      201: json(v1TicketSchema, 'Classified and queued.', { example: V1_TICKET_EXAMPLE }),
      503: error('Redis is unreachable, or the n-gram model is unavailable.', 'the /v1 model is unavailable: ngram.json is missing'),
    },
  });
  doc.route({
    method: 'get',
    path: '/v1/tickets/next',
    operationId: 'v1TakeNextTicket',
    summary: '(v1) Take the most urgent ticket',
    tags: ['v1'],
    access: ['agent'],
    responses: { 200: json(v1TicketSchema, 'The most urgent ticket, now removed.', { example: V1_TICKET_EXAMPLE }), 404: empty },
  });
  doc.route({
    method: 'get',
    path: '/v1/tickets/peek',
    operationId: 'v1PeekNextTicket',
    summary: '(v1) Look at the most urgent ticket without taking it',
    tags: ['v1'],
    access: ['agent'],
    responses: { 200: json(v1TicketSchema, 'The most urgent ticket.', { example: V1_TICKET_EXAMPLE }), 404: empty },
  });
  doc.route({
    method: 'get',
    path: '/v1/tickets/status',
    operationId: 'v1QueueStatus',
    summary: '(v1) Queue depth',
    tags: ['v1'],
    access: ['agent', 'admin'],
    responses: { 200: json(v1StatusResponseSchema, 'Tickets waiting.', { example: { depth: 3 } }) },
  });
  doc.route({
    method: 'delete',
    path: '/v1/tickets',
    operationId: 'v1DrainQueue',
    summary: '(v1) Drain the queue',
    tags: ['v1'],
    access: ['admin'],
    responses: { 200: json(v1DrainResponseSchema, 'How many tickets were removed.', { example: { drained: 3 } }) },
  });
};
