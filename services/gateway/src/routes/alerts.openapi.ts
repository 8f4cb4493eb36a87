import { ticketAlertsResponseSchema } from '@triage/shared';
import { type RouteDocs, error, json } from '../openapi/api-doc';
import { TICKET_ID_EXAMPLE, ticketIdParams } from './tickets.openapi';

/** GET /v2/tickets/{id}/alerts */
export const alertRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/v2/tickets/{id}/alerts',
    operationId: 'getTicketAlerts',
    summary: "A ticket's alert deliveries, per destination",
    description: 'Empty when the ticket never crossed an alert threshold. Webhook URLs never appear (errors are redacted).',
    tags: ['alerts'],
    access: ['agent', 'admin'],
    request: { params: ticketIdParams },
    responses: {
      200: json(ticketAlertsResponseSchema, 'Delivery state per destination.', {
        example: {
          ticket_id: TICKET_ID_EXAMPLE,
          alerts: [
            { destination: 'oncall-slack', type: 'slack', status: 'delivered', attempts: 1, last_error: null, delivered_at: '2026-12-01T09:30:01.000Z', updated_at: '2026-12-01T09:30:01.000Z', incident_id: null },
          ],
        },
      }),
      404: error('No such ticket.', `ticket ${TICKET_ID_EXAMPLE} not found`),
    },
  });
};
