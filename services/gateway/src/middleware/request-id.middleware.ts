import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { type Logger, requestIdSchema } from '@triage/shared';

export interface RequestContext {
  requestId: string;
  logger: Logger;
}

/** Tags a request with an id (the caller's `X-Request-Id` if sane) and logs its outcome when it is answered. */
export function beginRequest(logger: Logger, req: IncomingMessage, res: ServerResponse): RequestContext {
  const incoming = requestIdSchema.safeParse(req.headers['x-request-id']);
  const requestId = incoming.success ? incoming.data : randomUUID();
  const started = process.hrtime.bigint();
  // Express rewrites req.url while it routes; the path as sent is read now.
  const path = req.url;
  const requestLogger = logger.child({ request_id: requestId });
  res.setHeader('X-Request-Id', requestId);
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    requestLogger.http('request', { method: req.method, path, status: res.statusCode, duration_ms: Math.round(ms * 10) / 10 });
  });
  return { requestId, logger: requestLogger };
}

/** beginRequest for Express: the id and the request's logger go to `res.locals`. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const context = beginRequest(logger, req, res);
    res.locals.requestId = context.requestId;
    res.locals.logger = context.logger;
    next();
  };
}
