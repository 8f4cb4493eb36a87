import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Node's own answers to requests it cannot parse, as the JSON errors every other 4xx has. */
const PARSE_ERRORS: Record<string, { status: number; reason: string; error: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', error: 'request headers too large' },
  HPE_URI_TOO_LONG: { status: 414, reason: 'URI Too Long', error: 'request URI too long' },
};
const BAD_REQUEST = { status: 400, reason: 'Bad Request', error: 'malformed HTTP request' };

/**
 * Requests that never reach Express (oversized headers, broken HTTP framing) are answered by
 * Node with an empty body; this answers them with `{ "error": … }` instead. Errors on a socket
 * that already answered or closed (ECONNRESET) need no reply.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, reason, error } = (err.code && PARSE_ERRORS[err.code]) || BAD_REQUEST;
    const body = JSON.stringify({ error });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
