import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { type Logger, requestIdSchema } from '@triage/shared';

/** Tags each request with an id (the caller's `X-Request-Id` if sane) and logs its outcome. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = requestIdSchema.safeParse(req.get('x-request-id'));
    const requestId = incoming.success ? incoming.data : randomUUID();
    const started = process.hrtime.bigint();
    res.locals.requestId = requestId;
    res.locals.logger = logger.child({ request_id: requestId });
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      (res.locals.logger as Logger).http('request', {
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        duration_ms: Math.round(ms * 10) / 10,
      });
    });
    next();
  };
}
