import { z } from 'zod';
import { alertDeliveriesQuerySchema, alertDeliveriesResponseSchema, ticketAlertsResponseSchema } from '@triage/shared';
import { type RouteDocs, error, json } from '../openapi/api-doc';
import { TICKET_ID_EXAMPLE, ticketIdParams } from './tickets.openapi';

const q = alertDeliveriesQuerySchema.shape;

/** GET /v2/tickets/{id}/alerts, GET /v2/alerts */
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
  doc.route({
    method: 'get',
    path: '/v2/alerts',
    operationId: 'listAlertDeliveries',
    summary: 'The service-wide alert delivery log, newest first',
    description:
      'One line per delivery outcome of every alert (urgent ticket, SLA warning/breach, major incident): delivered, retrying (the attempt failed, another follows), failed (given up) or grouped (folded into an incident post). The latest ~10,000 lines are kept. Webhook URLs never appear.',
    tags: ['alerts'],
    access: ['admin'],
    request: {
      query: z.object({
        limit: q.limit.optional().meta({ description: 'How many lines (1-500, default 50).', example: 50 }),
        kind: q.kind.meta({ description: 'Only this kind of alert.' }),
        outcome: q.outcome.meta({ description: 'Only this outcome.' }),
        destination: q.destination.meta({ description: 'Only this destination id.' }),
        before: q.before.meta({ description: 'Only lines older than this one (`next_before` of the previous page).', example: '1764581401000-0' }),
      }),
    },
    responses: {
      200: json(alertDeliveriesResponseSchema, 'The matching lines, newest first.', {
        example: {
          deliveries: [
            { id: '1764581401000-0', at: '2026-12-01T09:30:01.000Z', kind: 'ticket', ticket_id: TICKET_ID_EXAMPLE, incident_id: null, destination: 'oncall-slack', type: 'slack', outcome: 'delivered', attempts: 1, error: null },
          ],
          next_before: null,
        },
      }),
      400: error('A bad filter or `limit`.', 'invalid query'),
    },
  });
};
