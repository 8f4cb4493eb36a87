import { Router, type Request, type RequestHandler } from 'express';
import {
  type AlertLog,
  type AlertLogEntry,
  type TicketStore,
  alertDeliveriesQuerySchema,
  alertDeliveriesResponseSchema,
  ticketAlertsResponseSchema,
} from '@triage/shared';
import { HttpError, validationError } from '../http-errors';
import { requireScope } from '../middleware/auth.middleware';
import { ticketIdParam } from './ticket-id-param';

export interface AlertsRouteDeps {
  store: TicketStore;
  alertLog: AlertLog;
  requireRedis: RequestHandler;
}

const ANY_URL = /\bhttps?:\/\/[^\s"'<>]+/gi;

/** The worker already redacts; this second pass means a webhook URL can never leave through the API. */
const redact = (error: string | null) => (error === null ? null : error.replace(ANY_URL, '[redacted-url]'));
const redactEntry = (entry: AlertLogEntry): AlertLogEntry => ({ ...entry, last_error: redact(entry.last_error) });

export function alertsRouter(deps: AlertsRouteDeps): Router {
  const router = Router();

  // Per destination delivery state of a ticket's alerts; [] when it never crossed a threshold.
  router.get('/tickets/:id/alerts', requireScope('agent', 'admin'), deps.requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticket = await deps.store.get(ticketIdParam(req));
    if (!ticket) throw new HttpError(404, `ticket ${req.params.id} not found`);
    const alerts = (await deps.alertLog.list(ticket.ticket_id)).map(redactEntry);
    res.json(ticketAlertsResponseSchema.parse({ ticket_id: ticket.ticket_id, alerts }));
  });

  // Every delivery outcome of every alert, newest first: what a lead checks when "did on-call hear about it?"
  router.get('/alerts', requireScope('admin'), deps.requireRedis, async (req, res) => {
    const parsed = alertDeliveriesQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error, 'invalid query');
    const page = await deps.alertLog.deliveries(parsed.data);
    res.json(alertDeliveriesResponseSchema.parse({ ...page, deliveries: page.deliveries.map((d) => ({ ...d, error: redact(d.error) })) }));
  });

  return router;
}
