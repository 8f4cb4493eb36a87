import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import {
  type CreateTicketResponse,
  type Logger,
  type Principal,
  type RedisClient,
  type TicketStore,
  type TriageJobData,
  createTicketRequestSchema,
  errorMessage,
  idempotencyKeySchema,
  triageJobData,
} from '@triage/shared';
import { HttpError, serviceUnavailable, validationError } from '../http-errors';
import { type AuthenticateOptions, grantScope, identify } from '../middleware/auth.middleware';
import type { ErrorReporter } from '../middleware/errors.middleware';
import { type NodeHandler, jsonBody } from '../middleware/json-body.middleware';
import type { RateLimit } from '../middleware/rate-limit.middleware';
import { beginRequest } from '../middleware/request-id.middleware';
import type { Prometheus } from '../metrics/prometheus';
import { idempotencyFor, triageJob } from './ticket-intake';

/** The route this module serves, as the OpenAPI document and the request metrics name it. */
export const ACCEPT_ROUTE = { method: 'POST', path: '/v2/tickets' } as const;

// Express matches paths case-insensitively and with an optional trailing slash; so does this route.
const ACCEPT_PATH = /^\/v2\/tickets\/?(?:\?.*)?$/i;

export interface TicketAcceptDeps {
  redis: RedisClient;
  store: TicketStore;
  ticketsQueue: Queue<TriageJobData>;
  logger: Logger;
  retryAfterSeconds: number;
  idempotencyTtlSeconds: number;
  auth: AuthenticateOptions;
  rateLimit: RateLimit;
  /** The security headers every answer carries (the Express app's helmet). */
  securityHeaders: NodeHandler;
  prometheus: Pick<Prometheus, 'track'>;
  reportError: ErrorReporter;
}

export interface TicketAcceptRoute {
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

type AcceptOutcome = { body: CreateTicketResponse; headers: Record<string, string> };

// A middleware passes its failure to next(): body-parser's errors, or an HttpError.
const run = (handler: NodeHandler, req: IncomingMessage, res: ServerResponse) =>
  new Promise<void>((resolve, reject) => handler(req, res, (err) => (err ? reject(err instanceof Error ? err : new Error(errorMessage(err))) : resolve())));

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

const accepted = (ticketId: string, acceptedAt: string, message: string): CreateTicketResponse => ({ ticket_id: ticketId, status: 'accepted', message, accepted_at: acceptedAt });

/**
 * POST /v2/tickets on Node's HTTP server, ahead of Express: the route every ticket comes in by,
 * where Express's routing and response helpers cost more CPU than the Redis work (docs/performance.md).
 * It runs the same steps as the Express stack, in its order and with its functions: request id and
 * log line, helmet's headers, request metrics, API key, scope and rate limit, JSON body, validation
 * (before any Redis work, so a bad request gets its 400 during an outage), then the ticket.
 */
export function ticketAcceptRoute(deps: TicketAcceptDeps): TicketAcceptRoute {
  const { store, ticketsQueue } = deps;
  const enqueue = (data: TriageJobData) => {
    const { name, opts } = triageJob(data);
    return ticketsQueue.add(name, data, opts);
  };

  async function accept(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<AcceptOutcome> {
    const principal: Principal = await identify(deps.auth, req.headers);
    const limits = await deps.rateLimit(grantScope(principal, ['client']), principal, req.socket.remoteAddress);
    for (const [name, value] of Object.entries(limits)) res.setHeader(name, value);
    for (const handler of jsonBody) await run(handler, req, res);

    const keyHeader = req.headers['idempotency-key'];
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key && !key.success) throw validationError(key.error, 'invalid Idempotency-Key header');
    const input = createTicketRequestSchema.safeParse((req as IncomingMessage & { body?: unknown }).body);
    if (!input.success) throw validationError(input.error);
    if (deps.redis.status !== 'ready') throw serviceUnavailable(deps.retryAfterSeconds);

    const idempotency = idempotencyFor(principal, key?.data, deps.idempotencyTtlSeconds);
    const ticketId = randomUUID();
    const acceptedAt = new Date().toISOString();
    const created = await store.create({ ticket_id: ticketId, accepted_at: acceptedAt, submitted_by: principal.id, ...input.data }, idempotency);
    if (!created.created) return replay(created.ticketId, requestId);

    try {
      await enqueue(triageJobData({ ticket_id: ticketId, subject: input.data.subject ?? null, body: input.data.body, accepted_at: acceptedAt }, requestId));
    } catch (err) {
      // Best effort: when Redis is gone entirely this fails too, and an Idempotency-Key replay heals it.
      await store.discardPending(ticketId, idempotency?.key).catch(() => undefined);
      throw err;
    }
    return { body: accepted(ticketId, acceptedAt, 'ticket accepted for triage'), headers: { Location: `/v2/tickets/${ticketId}` } };
  }

  async function replay(ticketId: string, requestId: string): Promise<AcceptOutcome> {
    const existing = await store.get(ticketId);
    if (!existing) throw new HttpError(409, 'Idempotency-Key refers to a ticket that no longer exists');
    // A replay heals an earlier request whose enqueue failed after the record was written.
    if (existing.status === 'pending') await enqueue(triageJobData(existing, requestId));
    return {
      body: accepted(existing.ticket_id, existing.accepted_at, 'ticket already accepted for this Idempotency-Key'),
      headers: { Location: `/v2/tickets/${existing.ticket_id}`, 'Idempotent-Replayed': 'true' },
    };
  }

  return {
    matches: (req) => req.method === ACCEPT_ROUTE.method && ACCEPT_PATH.test(req.url ?? ''),
    handle(req, res) {
      const context = beginRequest(deps.logger, req, res);
      deps.securityHeaders(req, res, () => undefined);
      deps.prometheus.track(req, res, () => ACCEPT_ROUTE.path);
      accept(req, res, context.requestId).then(
        ({ body, headers }) => sendJson(res, 202, body, headers),
        (err: unknown) => {
          const httpError = deps.reportError(err, { method: req.method, path: req.url, requestId: context.requestId, logger: context.logger });
          if (!res.headersSent) sendJson(res, httpError.status, httpError.toBody(), httpError.headers);
        },
      );
    },
  };
}
