import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';
export type Responder = (request: RecordedRequest, index: number) => Reply;

export interface WebhookReceiver {
  /** Base URL with a secret-looking path, like a real Slack/Discord webhook. */
  url: string;
  requests: RecordedRequest[];
  /** Requests that were answered 2xx: what the channel actually shows. */
  delivered(): RecordedRequest[];
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

export const ok: Responder = () => ({ status: 200, body: 'ok' });

/** A loopback HTTP server that records every request and answers as told (or never). */
export async function startReceiver(path = '/hooks/T000/B000/s3cr3t-token', responder: Responder = ok): Promise<WebhookReceiver> {
  let respond = responder;
  const requests: RecordedRequest[] = [];
  const statuses = new Map<RecordedRequest, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      const reply = respond(recorded, requests.length - 1);
      if (reply === 'hang') return;
      statuses.set(recorded, reply.status);
      res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
  return {
    url: `http://127.0.0.1:${address.port}${path}`,
    requests,
    delivered: () => requests.filter((r) => {
      const status = statuses.get(r);
      return status !== undefined && status >= 200 && status < 300;
    }),
    respondWith: (next) => {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
