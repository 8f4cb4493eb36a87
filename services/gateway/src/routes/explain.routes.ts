import { Router, type Request, type RequestHandler } from 'express';
import type { TicketStore } from '@triage/shared';
import { type ExplainRequests, ExplainUnavailableError } from '../explain/explain-requests';
import { HttpError } from '../http-errors';
import { requireScope } from '../middleware/auth.middleware';
import { ticketIdParam } from './ticket-id-param';

export interface ExplainRouteDeps {
  store: TicketStore;
  explain: ExplainRequests;
  retryAfterSeconds: number;
  requireRedis: RequestHandler;
}


/** GET /v2/tickets/:id/explain — the words behind a triaged ticket's predicted queue and urgency. */
export function explainRouter(deps: ExplainRouteDeps): Router {
  const router = Router();
  router.get('/:id/explain', requireScope('agent'), deps.requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticket = await deps.store.get(ticketIdParam(req));
    if (!ticket) throw new HttpError(404, `ticket ${req.params.id} not found`);
    if (ticket.category === null) throw new HttpError(409, `ticket ${ticket.ticket_id} has not been triaged yet (status ${ticket.status})`);
    try {
      res.json(await deps.explain.explain({ ticket_id: ticket.ticket_id, ...(ticket.subject === null ? {} : { subject: ticket.subject }), body: ticket.body }));
    } catch (err) {
      if (!(err instanceof ExplainUnavailableError)) throw err;
      throw new HttpError(503, `explanation unavailable, retry later (${err.message})`, undefined, { 'Retry-After': String(deps.retryAfterSeconds) });
    }
  });
  return router;
}
