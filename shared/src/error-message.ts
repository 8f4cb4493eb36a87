/** The message of anything thrown (a rejected promise may carry any value), for logs and error replies. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
