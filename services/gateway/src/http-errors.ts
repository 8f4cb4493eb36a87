import type { ZodError } from 'zod';
import type { ErrorResponse } from '@triage/shared';

/** An error that already knows its HTTP status and JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: ErrorResponse['details'],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorResponse {
    return this.details === undefined ? { error: this.message } : { error: this.message, details: this.details };
  }
}

export function validationError(error: ZodError, message = 'validation failed'): HttpError {
  const details = error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    // Unknown fields are reported once per key so clients can point at the offending field.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
  return new HttpError(400, message, details);
}

export function serviceUnavailable(retryAfterSeconds: number): HttpError {
  return new HttpError(503, 'service unavailable: storage is unreachable, retry later', undefined, {
    'Retry-After': String(retryAfterSeconds),
  });
}

const REDIS_DOWN_MESSAGES = ['enableOfflineQueue', 'Connection is closed', 'Command timed out', 'connect ECONNREFUSED'];
const REDIS_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN']);

/** True for the errors ioredis/BullMQ raise when Redis cannot be reached in time. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    (code !== undefined && REDIS_DOWN_CODES.has(code)) ||
    REDIS_DOWN_MESSAGES.some((m) => err.message.includes(m))
  );
}
