import { z } from 'zod';
import { queuesResponseSchema, waitingQuerySchema, waitingResponseSchema } from '@triage/shared';
import { type RouteDocs, error, json } from '../openapi/api-doc';
import { TICKET_EXAMPLE } from './tickets.openapi';

/** Read-only views for the console (waiting.routes.ts). */
export const waitingRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/v2/tickets/waiting',
    operationId: 'listWaitingTickets',
    summary: 'The tickets waiting for an agent, in the order /next serves them',
    description: 'Reads the queue without taking anything: the first `limit` waiting tickets, highest effective priority first, and how many wait in all.',
    tags: ['agents'],
    access: ['agent'],
    request: { query: z.object({ limit: waitingQuerySchema.shape.limit.optional().meta({ description: 'How many (1-200, default 50).', example: 50 }) }) },
    responses: {
      200: json(waitingResponseSchema, 'The waiting tickets, next first.', { example: { total: 1, tickets: [TICKET_EXAMPLE] } }),
      400: error('A bad `limit`.', 'invalid query'),
    },
  });
  doc.route({
    method: 'get',
    path: '/v2/queues',
    operationId: 'listQueues',
    summary: "The queues the served model predicts (what a correction may name)",
    tags: ['agents'],
    access: ['agent', 'admin'],
    responses: {
      200: json(queuesResponseSchema, 'The model version and its queues, sorted.', { example: { model_version: 'sha256:17bee08f8605958c', queues: ['Billing and Payments', 'Technical Support'] } }),
      503: error('The model bundle did not load.', 'the model bundle is unavailable: …'),
    },
  });
};
