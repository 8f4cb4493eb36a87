import { randomUUID } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import {
  type BatchTicketResult,
  type CreateTicketRequest,
  type CreateTicketResponse,
  JobName,
  triageJobData,
  type TicketStore,
  type TriageJobData,
  type Idempotency,
  batchEnvelopeSchema,
  batchTicketItemSchema,
  createTicketRequestSchema,
  idempotencyKeySchema,
} from '@triage/shared';
import { HttpError, issueDetails, validationError } from '../http-errors';
import { hasScope, principalOf, requireScope } from '../middleware/auth.middleware';
import { jsonBody } from '../middleware/json-body.middleware';
import { ticketIdParam } from './ticket-id-param';

export interface TicketsRouteDeps {
  store: TicketStore;
  ticketsQueue: Queue<TriageJobData>;
  idempotencyTtlSeconds: number;
  /** Most tickets one POST /v2/tickets/batch may hold (BATCH_MAX_ITEMS); more get 413. */
  batchMaxItems: number;
  /** Guards every route that touches Redis (answers 503 instead of waiting). */
  requireRedis: RequestHandler;
}



function accepted(ticketId: string, acceptedAt: string, message: string): CreateTicketResponse {
  return { ticket_id: ticketId, status: 'accepted', message, accepted_at: acceptedAt };
}

export function ticketsRouter(deps: TicketsRouteDeps): Router {
  const { store, ticketsQueue, requireRedis } = deps;
  // The job id is the ticket id, so adding the same ticket twice is a no-op in BullMQ.
  const job = (data: TriageJobData) => ({ name: JobName.Triage, data, opts: { jobId: data.ticket_id } });
  const enqueue = (data: TriageJobData) => ticketsQueue.add(JobName.Triage, data, job(data).opts);
  // An idempotency key belongs to its sender: the same key from two principals makes two tickets.
  const idempotencyFor = (res: express.Response, key: string | undefined): Idempotency | undefined =>
    key === undefined ? undefined : { key: `${principalOf(res).id}:${key}`, ttlSeconds: deps.idempotencyTtlSeconds };
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
    const idempotency = idempotencyFor(res, res.locals.idempotencyKey as string | undefined);
    const idempotencyKey = idempotency?.key;
    const ticketId = randomUUID();
    const acceptedAt = new Date().toISOString();
    const created = await store.create({ ticket_id: ticketId, accepted_at: acceptedAt, submitted_by: principalOf(res).id, ...input }, idempotency);
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
      return [{ index, ticket: { ticket_id: randomUUID(), accepted_at: acceptedAt, submitted_by: submittedBy, ...input }, idempotency: idempotencyFor(res, key) }];
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
        await ticketsQueue.addBulk([...jobs.values()].map(job));
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
