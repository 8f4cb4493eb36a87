import express, { type RequestHandler } from 'express';
import { HttpError } from '../http-errors';

/** The largest JSON body accepted; the 413 message and the OpenAPI document quote it. */
export const JSON_BODY_LIMIT = { bytes: 1024 * 1024, text: '1 MB' } as const;

const requireJson: RequestHandler = (req, _res, next) => {
  next(req.is('application/json') ? undefined : new HttpError(415, 'Content-Type must be application/json'));
};

/** 415 for other content types, then parse (malformed → 400, over the limit → 413 via the error middleware). */
export const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: JSON_BODY_LIMIT.bytes })];
