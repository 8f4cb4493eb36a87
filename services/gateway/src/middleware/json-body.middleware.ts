import express, { type RequestHandler } from 'express';
import { HttpError } from '../http-errors';

const BODY_LIMIT = '1mb';

const requireJson: RequestHandler = (req, _res, next) => {
  next(req.is('application/json') ? undefined : new HttpError(415, 'Content-Type must be application/json'));
};

/** 415 for other content types, then parse (malformed → 400, over 1 MB → 413 via the error middleware). */
export const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: BODY_LIMIT })];
