import type { Request } from 'express';
import { ticketIdSchema } from '@triage/shared';
import { HttpError } from '../http-errors';

/** The lower-cased ticket id of a `/:id` route; an id that cannot exist is a 404 before any Redis work, as a missing one is. */
export function ticketIdParam(req: Request<{ id: string }>): string {
  const parsed = ticketIdSchema.safeParse(req.params.id);
  if (!parsed.success) throw new HttpError(404, `ticket ${req.params.id} not found`);
  return parsed.data.toLowerCase();
}
