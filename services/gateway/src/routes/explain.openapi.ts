import { explanationSchema } from '@triage/shared';
import { type RouteDocs, error, headers, json } from '../openapi/api-doc';
import { TICKET_ID_EXAMPLE, ticketIdParams } from './tickets.openapi';

/** GET /v2/tickets/{id}/explain (explain.routes.ts). */
export const explainRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/v2/tickets/{id}/explain',
    operationId: 'explainTicket',
    summary: "The words behind a triaged ticket's predicted queue and urgency",
    description: 'Computed by a worker on request and cached for a few minutes.',
    tags: ['agents'],
    access: ['agent'],
    request: { params: ticketIdParams },
    responses: {
      200: json(explanationSchema, 'Evidence spans for the predicted queue and urgency.'),
      404: error('No such ticket.', `ticket ${TICKET_ID_EXAMPLE} not found`),
      409: error('The ticket has not been triaged yet.', `ticket ${TICKET_ID_EXAMPLE} has not been triaged yet (status pending)`),
      503: error('No worker explained it in time, or Redis is unreachable; retry after Retry-After seconds.', 'explanation unavailable, retry later (timed out)', headers('Retry-After')),
    },
  });
};
