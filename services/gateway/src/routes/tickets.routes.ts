import { randomUUID } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import { type BatchTicketResult, type TicketStore, type TriageJobData, batchEnvelopeSchema, batchTicketItemSchema, triageJobData } from '@triage/shared';
import { HttpError, issueDetails, validationError } from '../http-errors';
import { hasScope, principalOf, requireScope } from '../middleware/auth.middleware';
import { jsonBody } from '../middleware/json-body.middleware';
import { ticketIdParam } from './ticket-id-param';
import { idempotencyFor, triageJob } from './ticket-intake';

export interface TicketsRouteDeps {
  store: TicketStore;
  ticketsQueue: Queue<TriageJobData>;
  idempotencyTtlSeconds: number;
  /** Most tickets one POST /v2/tickets/batch may hold (BATCH_MAX_ITEMS); more get 413. */
  batchMaxItems: number;
  /** Guards every route that touches Redis (answers 503 instead of waiting). */
  requireRedis: RequestHandler;
}

/** The ticket routes Express serves; POST /v2/tickets itself is ticket-accept.route.ts. */
export function ticketsRouter(deps: TicketsRouteDeps): Router {
  const { store, ticketsQueue, requireRedis } = deps;
  const router = Router();

  // The envelope is checked before Redis; items are checked one by one so bad ones do not sink the batch.
  const validateBatch: RequestHandler = (req, res, next) => {
    const envelope = batchEnvelopeSchema.safeParse(req.body);
    if (!envelope.success) return next(validationError(envelope.error));
    const { tickets } = envelope.data;
    if (tickets.length > deps.batchMaxItems) {
      return next(new HttpError(413, `too many tickets in one batch: ${tickets.length} (limit ${deps.batchMaxItems})`));
    }
    res.locals.items = tickets.map((item) => batchTicketItemSchema.safeParse(item));
    next();
  };

  router.post('/batch', requireScope('client'), ...jsonBody, validateBatch, requireRedis, async (_req, res) => {
    const items = res.locals.items as ReturnType<typeof batchTicketItemSchema.safeParse>[];
    const submittedBy = principalOf(res).id;
    const acceptedAt = new Date().toISOString();
    const requestId = res.locals.requestId as string;
    const valid = items.flatMap((item, index) => {
      if (!item.success) return [];
      const { idempotency_key: key, ...input } = item.data;
      return [{ index, ticket: { ticket_id: randomUUID(), accepted_at: acceptedAt, submitted_by: submittedBy, ...input }, idempotency: idempotencyFor(principalOf(res), key, deps.idempotencyTtlSeconds) }];
    });
    const outcomes = valid.length === 0 ? [] : await store.createMany(valid);

    // Valid items get their result once their outcome is known.
    const results: (BatchTicketResult | undefined)[] = items.map((item, index) =>
      item.success ? undefined : { index, status: 'invalid', errors: issueDetails(item.error) },
    );
    // New tickets and replayed ones still pending are queued; a ticket replayed twice is queued once.
    const jobs = new Map<string, TriageJobData>();
    const fresh: { ticketId: string; idempotencyKey?: string | undefined }[] = [];
    await Promise.all(
      valid.map(async ({ index, ticket, idempotency }, i) => {
        const outcome = outcomes[i]!;
        if (outcome.created) {
          fresh.push({ ticketId: ticket.ticket_id, idempotencyKey: idempotency?.key });
          jobs.set(ticket.ticket_id, triageJobData({ ...ticket, subject: ticket.subject ?? null }, requestId));
          results[index] = { index, status: 'accepted', ticket_id: ticket.ticket_id, location: `/v2/tickets/${ticket.ticket_id}`, accepted_at: acceptedAt };
          return;
        }
        const existing = await store.get(outcome.ticketId);
        if (!existing) {
          results[index] = { index, status: 'invalid', errors: [{ path: 'idempotency_key', message: 'refers to a ticket that no longer exists' }] };
          return;
        }
        if (existing.status === 'pending') jobs.set(existing.ticket_id, triageJobData(existing, requestId));
        results[index] = { index, status: 'accepted', ticket_id: existing.ticket_id, location: `/v2/tickets/${existing.ticket_id}`, accepted_at: existing.accepted_at, replayed: true };
      }),
    );

    if (jobs.size > 0) {
      try {
        await ticketsQueue.addBulk([...jobs.values()].map(triageJob));
      } catch (err) {
        // As for one ticket: best effort, and an idempotency_key replay heals what is left.
        await Promise.all(fresh.map((t) => store.discardPending(t.ticketId, t.idempotencyKey).catch(() => undefined)));
        throw err;
      }
    }
    res.status(202).json({ results });
  });

  router.get('/status', requireScope('agent', 'admin'), requireRedis, async (_req, res) => {
    res.json(await store.statusCounts());
  });

  // A client key reads only tickets it submitted; anyone else's look like missing ones.
  router.get('/:id', requireScope('agent', 'admin', 'client'), requireRedis, async (req: express.Request<{ id: string }>, res) => {
    const ticketId = ticketIdParam(req);
    const readable = hasScope(res, 'agent') || hasScope(res, 'admin') || (await store.submitter(ticketId)) === principalOf(res).id;
    const ticket = readable ? await store.get(ticketId) : null;
    if (!ticket) throw new HttpError(404, `ticket ${req.params.id} not found`);
    res.json(ticket);
  });

  return router;
}
