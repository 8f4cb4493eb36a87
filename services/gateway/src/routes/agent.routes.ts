import { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  type Correction,
  type CorrectionFields,
  type CorrectionWrite,
  type CorrectionResponse,
  type HolderOutcome,
  type RefusalCode,
  type TicketResponse,
  type StatsStore,
  type TicketStore,
  correctionFieldsSchema,
  correctionRequestSchema,
} from '@triage/shared';
import { HttpError, validationError } from '../http-errors';
import { principalOf, requireScope } from '../middleware/auth.middleware';
import { jsonBody } from '../middleware/json-body.middleware';
import { ticketIdParam } from './ticket-id-param';

export interface AgentRouteDeps {
  store: TicketStore;
  /** The queues corrections may name: the served model's labels; null when its bundle did not load. */
  queueLabels: () => readonly string[] | null;
  requireRedis: RequestHandler;
  /** Live statistics (GET /v2/stats): leases, acks, releases, SLA breaches and plain acks' verdicts. */
  stats?: Pick<StatsStore, 'recordEvent' | 'recordVerdict' | 'recordSlaBreach'>;
}

const isEmpty = (req: Request) => req.get('content-type') === undefined && req.get('transfer-encoding') === undefined && Number(req.get('content-length') ?? 0) === 0;

/** An optional JSON body: none at all is fine, anything else must be application/json. */
const optionalJsonBody: RequestHandler[] = jsonBody.map((step): RequestHandler => (req, res, next) => (isEmpty(req) ? next() : step(req, res, next)));

function refused(code: RefusalCode, message: string): HttpError {
  const err = new HttpError(409, message);
  err.code = code;
  return err;
}

function refusalError(ticketId: string, outcome: Extract<HolderOutcome, { ok: false }>, agentId: string): HttpError {
  switch (outcome.reason) {
    case 'missing':
      return new HttpError(404, `ticket ${ticketId} not found`);
    case 'expired':
      return refused('lease_expired', `the lease of ${agentId} on ticket ${ticketId} expired; the ticket is back in the queue`);
    case 'not-holder':
      return outcome.status === 'done'
        ? refused('already_acknowledged', `ticket ${ticketId} was already acknowledged by ${outcome.holder}`)
        : refused('leased_by_another_agent', `ticket ${ticketId} is leased by another agent (${outcome.holder})`);
    case 'not-leased':
      return refused('not_leased', `ticket ${ticketId} is not leased (status ${outcome.status}); take it with GET /v2/tickets/next`);
  }
}

export function agentRouter(deps: AgentRouteDeps): Router {
  const { store, requireRedis } = deps;
  const router = Router();
  // Statistics are best effort: a failed count never fails the agent's request.
  const count = (work: ((s: NonNullable<AgentRouteDeps['stats']>) => Promise<unknown>)) => {
    if (deps.stats) void work(deps.stats).catch(() => undefined);
  };
  const agentOnly = requireScope('agent');

  /** Checks the queue against the model's labels: 400 naming the allowed values. */
  function checkLabels(fields: CorrectionFields): void {
    if (fields.queue === undefined) return;
    const labels = deps.queueLabels();
    if (labels === null) throw new HttpError(503, 'the model bundle is unavailable, so corrections cannot be checked; retry later');
    if (!labels.includes(fields.queue)) {
      throw new HttpError(400, 'validation failed', [{ path: 'queue', message: `must be one of: ${labels.join(', ')}` }]);
    }
  }

  function correctionWrite(ticket: TicketResponse, fields: CorrectionFields, agentId: string): CorrectionWrite {
    const at = new Date().toISOString();
    const correction: Correction = {
      queue: fields.queue ?? null,
      priority: fields.priority ?? null,
      urgency: fields.urgency ?? null,
      note: fields.note ?? null,
      agent_id: agentId,
      at,
    };
    const language = ticket.metadata?.language;
    return {
      correction,
      entry: {
        ticket_id: ticket.ticket_id,
        agent_id: agentId,
        at,
        ...fields,
        predicted_queue: ticket.category ?? '',
        predicted_urgency: ticket.urgency_score ?? 0,
        model_version: ticket.model_version ?? '',
        subject: ticket.subject ?? '',
        body: ticket.body,
        ...(typeof language === 'string' && language.length > 0 ? { language } : {}),
      },
    };
  }

  async function triagedTicket(ticketId: string): Promise<TicketResponse> {
    const ticket = await store.get(ticketId);
    if (!ticket) throw new HttpError(404, `ticket ${ticketId} not found`);
    if (ticket.category === null) throw new HttpError(409, `ticket ${ticketId} has no triage result yet (status ${ticket.status})`);
    return ticket;
  }

  function answer(res: Response, ticketId: string, outcome: HolderOutcome): void {
    if (!outcome.ok) throw refusalError(ticketId, outcome, principalOf(res).id);
    res.json(outcome.ticket);
  }

  router.get('/next', agentOnly, requireRedis, async (_req, res) => {
    const ticket = await store.leaseNext(principalOf(res).id);
    if (!ticket) throw new HttpError(404, 'no processed ticket is waiting for an agent');
    count((s) => s.recordEvent('lease'));
    // Taken after its due time: breached (counted once, also when the sweep's breach alert counted it already).
    const sla = ticket.sla;
    if (sla?.state === 'missed') count((s) => s.recordSlaBreach(ticket.ticket_id, Date.parse(sla.due_at)));
    res.json(ticket);
  });

  // Validation needs no Redis, so a bad correction gets its 400 even during an outage.
  const validateCorrection =
    (schema: typeof correctionFieldsSchema | typeof correctionRequestSchema): RequestHandler =>
    (req, res, next) => {
      const fields = schema.safeParse(req.body ?? {});
      if (!fields.success) throw validationError(fields.error);
      checkLabels(fields.data);
      res.locals.correction = fields.data;
      next();
    };

  router.post('/:id/ack', agentOnly, ...optionalJsonBody, validateCorrection(correctionFieldsSchema), requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticketId = ticketIdParam(req);
    const fields = res.locals.correction as CorrectionFields;
    const agentId = principalOf(res).id;
    const write = Object.keys(fields).length > 0 ? correctionWrite(await triagedTicket(ticketId), fields, agentId) : undefined;
    const outcome = await store.ack(ticketId, agentId, write);
    if (outcome.ok && !outcome.alreadyDone) {
      count((s) => s.recordEvent('ack'));
      // A plain ack keeps the predicted queue; an ack with fields is a correction (counted from the stream).
      const { category, model_version, correction } = outcome.ticket;
      if (!write && correction === null && category !== null && model_version !== null) {
        count((s) => s.recordVerdict({ at: Date.now(), predicted_queue: category, model_version, kept: true }));
      }
    }
    answer(res, ticketId, outcome);
  });

  router.post('/:id/release', agentOnly, requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticketId = ticketIdParam(req);
    const outcome = await store.release(ticketId, principalOf(res).id);
    if (outcome.ok) count((s) => s.recordEvent('release'));
    answer(res, ticketId, outcome);
  });

  router.post('/:id/extend', agentOnly, requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticketId = ticketIdParam(req);
    answer(res, ticketId, await store.extend(ticketId, principalOf(res).id));
  });

  router.post('/:id/feedback', agentOnly, ...jsonBody, validateCorrection(correctionRequestSchema), requireRedis, async (req: Request<{ id: string }>, res) => {
    const ticketId = ticketIdParam(req);
    const fields = res.locals.correction as CorrectionFields;
    const write = correctionWrite(await triagedTicket(ticketId), fields, principalOf(res).id);
    const outcome = await store.addCorrection(ticketId, write);
    if (!outcome.ok) {
      if (outcome.status === null) throw new HttpError(404, `ticket ${ticketId} not found`);
      throw new HttpError(409, `ticket ${ticketId} has no triage result yet (status ${outcome.status})`);
    }
    const body: CorrectionResponse = { ticket_id: ticketId, feedback_id: outcome.feedbackId, correction: write.correction };
    res.status(201).location(`/v2/tickets/${ticketId}`).json(body);
  });

  return router;
}
