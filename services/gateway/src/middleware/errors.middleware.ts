import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '@triage/shared';
import { HttpError, isRedisUnavailable, serviceUnavailable } from '../http-errors';

/** body-parser's error types → our status codes. */
const BODY_PARSER_ERRORS: Record<string, HttpError> = {
  'entity.parse.failed': new HttpError(400, 'malformed JSON body'),
  'entity.too.large': new HttpError(413, 'request body too large (limit 1 MB)'),
  'encoding.unsupported': new HttpError(415, 'unsupported content encoding'),
  'charset.unsupported': new HttpError(415, 'unsupported charset, use utf-8'),
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no route for ${req.method} ${req.path}`));
};

export function errorHandler(retryAfterSeconds: number): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const httpError = toHttpError(err, retryAfterSeconds);
    const logger = res.locals.logger as Logger | undefined;
    if (httpError.status >= 500) logger?.error('request failed', { err, status: httpError.status });
    if (res.headersSent) return;
    res.status(httpError.status).set(httpError.headers).json(httpError.toBody());
  };
}

function toHttpError(err: unknown, retryAfterSeconds: number): HttpError {
  if (err instanceof HttpError) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type];
  if (isRedisUnavailable(err)) return serviceUnavailable(retryAfterSeconds);
  return new HttpError(500, 'internal error');
}
