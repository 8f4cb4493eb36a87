import { randomUUID } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import {
  type CreateTicketRequest,
  type CreateTicketResponse,
  JobName,
  triageJobData,
  type TicketStore,
  type TriageJobData,
  createTicketRequestSchema,
  idempotencyKeySchema,
} from '@triage/shared';
import { HttpError, validationError } from '../http-errors';
import { hasScope, principalOf, requireScope } from '../middleware/auth.middleware';
import { jsonBody } from '../middleware/json-body.middleware';

export interface TicketsRouteDeps {
  store: TicketStore;
  ticketsQueue: Queue<TriageJobData>;
  idempotencyTtlSeconds: number;
  /** Guards every route that touches Redis (answers 503 instead of waiting). */
  requireRedis: RequestHandler;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


function accepted(ticketId: string, acceptedAt: string, message: string): CreateTicketResponse {
  return { ticket_id: ticketId, status: 'accepted', message, accepted_at: acceptedAt };
}

export function ticketsRouter(deps: TicketsRouteDeps): Router {
  const { store, ticketsQueue, requireRedis } = deps;
  // The job id is the ticket id, so adding the same ticket twice is a no-op in BullMQ.
  const enqueue = (data: TriageJobData) => ticketsQueue.add(JobName.Triage, data, { jobId: data.ticket_id });
  const router = Router();

  // Validation needs no Redis, so a bad request gets its 400 even during an outage.
  const validateCreate: RequestHandler = (req, res, next) => {
    const keyHeader = req.get('idempotency-key');
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key && !key.success) return next(validationError(key.error, 'invalid Idempotency-Key header'));
    const input = createTicketRequestSchema.safeParse(req.body);
    if (!input.success) return next(validationError(input.error));
    res.locals.input = input.data;
    res.locals.idempotencyKey = key?.data;
    next();
  };

  router.post('/', requireScope('client'), ...jsonBody, validateCreate, requireRedis, async (_req, res) => {
    const input = res.locals.input as CreateTicketRequest;
    const principal = principalOf(res);
    // An Idempotency-Key belongs to its sender: the same key from two principals makes two tickets.
    const idempotencyKey = res.locals.idempotencyKey === undefined ? undefined : `${principal.id}:${res.locals.idempotencyKey as string}`;
    const ticketId = randomUUID();
    const acceptedAt = new Date().toISOString();
    const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, ttlSeconds: deps.idempotencyTtlSeconds };
    const created = await store.create({ ticket_id: ticketId, accepted_at: acceptedAt, submitted_by: principal.id, ...input }, idempotency);
    const requestId = res.locals.requestId as string;

    if (!created.created) {
      const existing = await store.get(created.ticketId);
      if (!existing) throw new HttpError(409, 'Idempotency-Key refers to a ticket that no longer exists');
      // A replay heals an earlier request whose enqueue failed after the record was written.
      if (existing.status === 'pending') await enqueue(triageJobData(existing, requestId));
      res.status(202).location(`/v2/tickets/${existing.ticket_id}`).set('Idempotent-Replayed', 'true');
      res.json(accepted(existing.ticket_id, existing.accepted_at, 'ticket already accepted for this Idempotency-Key'));
      return;
    }

    try {
      await enqueue(triageJobData({ ticket_id: ticketId, subject: input.subject ?? null, body: input.body, accepted_at: acceptedAt }, requestId));
    } catch (err) {
      // Best effort: when Redis is gone entirely this fails too, and an Idempotency-Key replay heals it.
      await store.discardPending(ticketId, idempotencyKey).catch(() => undefined);
      throw err;
    }
    res.status(202).location(`/v2/tickets/${ticketId}`).json(accepted(ticketId, acceptedAt, 'ticket accepted for triage'));
  });

  router.get('/status', requireScope('agent', 'admin'), requireRedis, async (_req, res) => {
    res.json(await store.statusCounts());
  });

  // A client key reads only tickets it submitted; anyone else's look like missing ones.
  router.get('/:id', requireScope('agent', 'admin', 'client'), requireRedis, async (req: express.Request<{ id: string }>, res) => {
    const { id } = req.params;
    const ticketId = id.toLowerCase();
    const readable = UUID.test(id) && (hasScope(res, 'agent') || hasScope(res, 'admin') || (await store.submitter(ticketId)) === principalOf(res).id);
    const ticket = readable ? await store.get(ticketId) : null;
    if (!ticket) throw new HttpError(404, `ticket ${id} not found`);
    res.json(ticket);
  });

  return router;
}
