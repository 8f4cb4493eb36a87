import express, { type Request, type RequestHandler } from 'express';
import { HttpError } from '../http-errors';

/** The largest JSON body accepted; the 413 message and the OpenAPI document quote it. */
export const JSON_BODY_LIMIT = { bytes: 1024 * 1024, text: '1 MB' } as const;

/** Whether the request says it has a body: a length, or chunks (RFC 9112 §6.3), as req.is() reads it. */
const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;

// req.is() answers null for a request without a body, whatever its Content-Type: that one is left
// to the route's validation, which says what is missing (400), instead of a 415 about its type.
const requireJson: RequestHandler = (req, _res, next) => {
  next(!hasBody(req) || req.is('application/json') ? undefined : new HttpError(415, 'Content-Type must be application/json'));
};

/** 415 for other content types, then parse (malformed → 400, over the limit → 413 via the error middleware). */
export const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: JSON_BODY_LIMIT.bytes })];
