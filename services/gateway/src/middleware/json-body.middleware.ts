import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import typeis from 'type-is';
import { HttpError } from '../http-errors';

/** The largest JSON body accepted; the 413 message and the OpenAPI document quote it. */
export const JSON_BODY_LIMIT = { bytes: 1024 * 1024, text: '1 MB' } as const;

/** A middleware on Node's own request and response, so the accept route runs it without Express. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

// A request without a body (no length, no chunks: RFC 9112 §6.3) is left to the route's validation,
// which says what is missing (400), instead of a 415 about its type.
const requireJson: NodeHandler = (req, _res, next) => {
  next(!typeis.hasBody(req) || typeis(req, ['application/json']) ? undefined : new HttpError(415, 'Content-Type must be application/json'));
};

/** 415 for other content types, then parse into `req.body` (malformed → 400, over the limit → 413 via the error mapping). */
export const jsonBody: NodeHandler[] = [requireJson, express.json({ limit: JSON_BODY_LIMIT.bytes })];
