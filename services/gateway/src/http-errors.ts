import type { ZodError } from 'zod';
import type { ErrorResponse } from '@triage/shared';

/** An error that already knows its HTTP status and JSON body. */
export class HttpError extends Error {
  /** A machine-readable reason, where the API defines one (agent refusals). */
  code: ErrorResponse['code'];

  constructor(
    readonly status: number,
    message: string,
    readonly details?: ErrorResponse['details'],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorResponse {
    return { error: this.message, ...(this.code ? { code: this.code } : {}), ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

/** A zod error as `{path, message}` details (the body of a 400, or a batch item's errors). */
export function issueDetails(error: ZodError): { path: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    // Unknown fields are reported once per key so clients can point at the offending field.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}

export function validationError(error: ZodError, message = 'validation failed'): HttpError {
  return new HttpError(400, message, issueDetails(error));
}

export function serviceUnavailable(retryAfterSeconds: number): HttpError {
  return new HttpError(503, 'service unavailable: storage is unreachable, retry later', undefined, {
    'Retry-After': String(retryAfterSeconds),
  });
}
