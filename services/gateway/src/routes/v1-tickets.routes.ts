import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { type CreateTicketRequest, type FallbackModel, type V1Ticket, createTicketRequestSchema, errorMessage, ticketText, urgencyLevel } from '@triage/shared';
import { withoutPaths } from '../client-safe';
import { HttpError, validationError } from '../http-errors';
import { requireScope } from '../middleware/auth.middleware';
import { jsonBody } from '../middleware/json-body.middleware';
import type { FallbackState } from '../v1/fallback-state';
import type { V1Queue } from '../v1/v1-queue';

export interface V1TicketsRouteDeps {
  v1Queue: V1Queue;
  fallback: FallbackState;
  requireRedis: RequestHandler;
}

/**
 * The seed API's synchronous path: the ticket is classified in the request (n-gram model, < 1 ms)
 * and queued by urgency level, then arrival. It never touches the workers or the encoder.
 */
export function v1TicketsRouter({ v1Queue, fallback, requireRedis }: V1TicketsRouteDeps): Router {
  const router = Router();

  // Same rules and errors as POST /v2/tickets; checked before Redis so bad requests get 400 in an outage.
  const validate: RequestHandler = (req, res, next) => {
    const input = createTicketRequestSchema.safeParse(req.body);
    if (!input.success) return next(validationError(input.error));
    res.locals.input = input.data;
    next();
  };

  router.post('/', requireScope('client'), ...jsonBody, validate, requireRedis, async (_req, res) => {
    const input = res.locals.input as CreateTicketRequest;
    const prediction = v1Model(fallback).predict(ticketText(input.subject, input.body));
    const ticket: V1Ticket = {
      ticket_id: randomUUID(),
      subject: input.subject ?? null,
      body: input.body,
      category: prediction.category,
      urgency_level: urgencyLevel(prediction.urgency),
      urgency_score: prediction.urgency,
      queued_at: new Date().toISOString(),
    };
    await v1Queue.push(ticket);
    res.status(201).json(ticket);
  });

  router.get('/next', requireScope('agent'), requireRedis, async (_req, res) => {
    res.json((await v1Queue.pop()) ?? throwEmpty());
  });

  router.get('/peek', requireScope('agent'), requireRedis, async (_req, res) => {
    res.json((await v1Queue.peek()) ?? throwEmpty());
  });

  router.get('/status', requireScope('agent', 'admin'), requireRedis, async (_req, res) => {
    res.json({ depth: await v1Queue.depth() });
  });

  router.delete('/', requireScope('admin'), requireRedis, async (_req, res) => {
    res.json({ drained: await v1Queue.drain() });
  });

  return router;
}

/** The n-gram model /v1 predicts with (loaded on first use); 503 when the bundle is or has become unusable. */
function v1Model(fallback: FallbackState): FallbackModel {
  if (fallback.status !== 'ready') throw new HttpError(503, `the /v1 model is unavailable: ${fallback.error}`);
  try {
    return fallback.model();
  } catch (err) {
    throw new HttpError(503, `the /v1 model is unavailable: ${withoutPaths(errorMessage(err))}`);
  }
}

function throwEmpty(): never {
  throw new HttpError(404, 'the v1 queue is empty');
}
