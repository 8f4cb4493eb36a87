import type { ApiError } from './api';

/** A panel whose endpoint answered an error: says why instead of showing nothing. */
export function Unavailable({ what, error }: { what: string; error: Pick<ApiError, 'status' | 'message'> }) {
  const why = error.status === 403 ? 'this API key has no admin scope' : error.status === 404 ? 'this gateway does not offer it' : error.message;
  return <p class="notice">{what}: not available ({why}).</p>;
}
