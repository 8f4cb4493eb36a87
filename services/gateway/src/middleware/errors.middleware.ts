import type { ErrorRequestHandler, RequestHandler } from 'express';
import { type Logger, isRedisUnavailable, throttledLog } from '@triage/shared';
import { HttpError, serviceUnavailable } from '../http-errors';
import { TEMPLATE_SEGMENT } from '../openapi/document';
import { JSON_BODY_LIMIT } from './json-body.middleware';

/** body-parser's error types → our status codes. */
const BODY_PARSER_ERRORS: Record<string, HttpError> = {
  'entity.parse.failed': new HttpError(400, 'malformed JSON body'),
  'entity.too.large': new HttpError(413, `request body too large (limit ${JSON_BODY_LIMIT.text})`),
  'encoding.unsupported': new HttpError(415, 'unsupported content encoding'),
  'charset.unsupported': new HttpError(415, 'unsupported charset, use utf-8'),
  'request.aborted': new HttpError(400, 'request body aborted by the client'),
  'request.size.invalid': new HttpError(400, 'request body length does not match Content-Length'),
};

type DocumentedPaths = readonly { pattern: RegExp; methods: string[] }[];

/**
 * GETs that take something: a lease (/v2) or the ticket itself (/v1). A HEAD would take it too and
 * return nothing, so these paths do not serve HEAD.
 */
const TAKING_GETS = new Set(['/v1/tickets/next', '/v2/tickets/next']);

/** The methods the document lists for a path (HEAD with GET, as Express serves it), or null for an undocumented path. */
function documentedAllow(paths: DocumentedPaths, path: string): { methods: Set<string>; header: string } | null {
  const matches = paths.filter((p) => p.pattern.test(path));
  // A literal path (/v2/tickets/batch) is served before a templated one that also matches it (/v2/tickets/{id}).
  const literal = matches.filter((p) => !p.pattern.source.includes(TEMPLATE_SEGMENT));
  const methods = new Set((literal.length > 0 ? literal : matches).flatMap((p) => p.methods));
  if (methods.size === 0) return null;
  if (methods.has('GET') && !TAKING_GETS.has(path.replace(/\/$/, ''))) methods.add('HEAD');
  return { methods, header: [...methods].sort().join(', ') };
}

/**
 * OPTIONS on a documented path answers with the documented methods. Express's own answer lists
 * every route whose pattern matches, so /v2/tickets/batch would advertise GET through /:id.
 */
export function documentedOptions(paths: DocumentedPaths): RequestHandler {
  return (req, res, next) => {
    const allow = req.method === 'OPTIONS' ? documentedAllow(paths, req.path) : null;
    if (!allow) return next();
    res.status(204).set('Allow', allow.header).end();
  };
}

/**
 * 405 + Allow for a documented path asked with a method it does not serve (paths from the OpenAPI
 * document). It runs before the routes and before authentication: Express would answer a HEAD with the
 * GET route, and the methods a path serves are public (/openapi.json), so a wrong method needs no key.
 */
export function methodNotAllowed(paths: DocumentedPaths): RequestHandler {
  return (req, _res, next) => {
    const allow = documentedAllow(paths, req.path);
    if (!allow || allow.methods.has(req.method)) return next();
    next(new HttpError(405, `method ${req.method} not allowed for ${req.path} (allowed: ${allow.header})`, undefined, { Allow: allow.header }));
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no route for ${req.method} ${req.path}`));
};

export interface FailedRequest {
  method: string | undefined;
  path: string | undefined;
  requestId: string | undefined;
  /** The request's own logger, when the failure came after requestContext. */
  logger: Logger | undefined;
}

/** Maps a request's failure to the HttpError it answers with, logging what an operator needs to see. */
export type ErrorReporter = (err: unknown, request: FailedRequest) => HttpError;

export function errorReporter(retryAfterSeconds: number, logger: Logger): ErrorReporter {
  // An outage turns every request into a 503: one warning and a periodic count, not a flood.
  const unavailable = throttledLog(logger, 'warn', 'storage unavailable, answering 503', 10_000);
  return (err, { method, path, requestId, logger: requestLogger = logger }) => {
    const httpError = toHttpError(err, retryAfterSeconds);
    if (httpError.status === 503) unavailable({ method, path, error: (err as Error | undefined)?.message, request_id: requestId });
    else if (httpError.status >= 500) requestLogger.error('request failed', { err, status: httpError.status, method, path });
    return httpError;
  };
}

export function errorHandler(report: ErrorReporter): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const httpError = report(err, { method: req.method, path: req.originalUrl, requestId: res.locals.requestId as string | undefined, logger: res.locals.logger as Logger | undefined });
    if (res.headersSent) return;
    res.status(httpError.status).set(httpError.headers).json(httpError.toBody());
  };
}

/** zlib/brotli failures while inflating a body body-parser already marked as the client's fault. */
const isDecodeError = (err: { code?: unknown }) => typeof err.code === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR_FORMAT)/.test(err.code);

function toHttpError(err: unknown, retryAfterSeconds: number): HttpError {
  if (err instanceof HttpError) return err;
  const { type, status, code, message } = (err ?? {}) as { type?: unknown; status?: unknown; code?: unknown; message?: unknown };
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type];
  if (isRedisUnavailable(err)) return serviceUnavailable(retryAfterSeconds);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser reports a corrupt or truncated gzip/deflate/br stream as a 400 without a type.
    if (isDecodeError({ code })) return new HttpError(400, `request body could not be decoded for its Content-Encoding: ${String(message)}`);
    return new HttpError(status, typeof message === 'string' && message.length < 200 ? message : 'bad request');
  }
  return new HttpError(500, 'internal error');
}
