import { type Server, createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { type TestGateway, buildGateway } from '../../../tests/support/gateway';
import { uniquePrefix } from '../../../tests/support/test-redis';
import { answerClientErrorsAsJson } from './client-errors';

// A real HTTP server (as main.ts runs it): the bytes must reach Node exactly as given.
let gw: TestGateway;
let server: Server;
let port: number;

beforeAll(async () => {
  gw = buildGateway(uniquePrefix('decode'));
  await gw.ready();
  server = createServer(gw.app);
  answerClientErrorsAsJson(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gw.close();
});

interface RawResponse {
  status: number;
  type: string | undefined;
  body: string;
}

function send(method: string, path: string, headers: Record<string, string | number>, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = Buffer.from(JSON.stringify({ subject: 'Encoded', body: 'A compressed ticket body' }));
const gzipped = gzipSync(json);
const postEncoded = (encoding: string, body: Buffer) =>
  send('POST', '/v2/tickets', { 'Content-Type': 'application/json', 'Content-Encoding': encoding, 'Content-Length': body.length }, body);

describe('compressed request bodies', () => {
  it.each([
    ['gzip', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['br', brotliCompressSync(json)],
  ])('accepts a valid %s body', async (encoding, body) => {
    const res = await postEncoded(encoding, body);
    expect(res.status).toBe(202);
    expect((await gw.store.get(JSON.parse(res.body).ticket_id))?.body).toBe('A compressed ticket body');
  });

  it.each([
    ['gzip', 'not gzip at all', Buffer.from('definitely not gzip')],
    ['gzip', 'truncated', gzipped.subarray(0, gzipped.length - 12)],
    ['gzip', 'a corrupted byte', Buffer.from(gzipped.map((b, i) => (i === 12 ? b ^ 0xff : b)))],
    ['deflate', 'not deflate', Buffer.from('plain text, no zlib header')],
    ['deflate', 'truncated', deflateSync(json).subarray(0, 10)],
    ['br', 'not brotli', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x12])],
    ['br', 'truncated', brotliCompressSync(json).subarray(0, 8)],
  ])('answers a corrupt %s body (%s) with a 400 JSON error and stores nothing', async (encoding, _what, body) => {
    const before = await gw.store.statusCounts();
    const res = await postEncoded(encoding, body);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/application\/json/);
    // A corrupted byte can still inflate to garbage, which then fails as JSON.
    expect(JSON.parse(res.body).error).toMatch(/^(request body could not be decoded for its Content-Encoding: .+|malformed JSON body)$/);
    expect(await gw.store.statusCounts()).toEqual(before);
  });

  it('answers an unknown Content-Encoding with 415', async () => {
    const res = await postEncoded('compress', gzipped);
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body)).toEqual({ error: 'unsupported content encoding' });
  });
});

describe('requests Node rejects before Express sees them', () => {
  it('answers oversized headers with 431 and a JSON error', async () => {
    const res = await send('GET', '/v2/tickets/status', { 'X-Padding': 'x'.repeat(20_000) });
    expect(res.status).toBe(431);
    expect(res.type).toMatch(/application\/json/);
    expect(JSON.parse(res.body)).toEqual({ error: 'request headers too large' });
  });

  it('answers an ordinary request on the same server', async () => {
    expect((await send('GET', '/v2/tickets/status', {})).status).toBe(200);
  });
});

describe('a POST without a body', () => {
  // curl -X POST -H 'Content-Type: application/json' with no -d: no Content-Length, no chunks
  const bodiless = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
    });

  it('is told its body is missing (400), not that its Content-Type is wrong, and stores nothing', async () => {
    const before = await gw.store.statusCounts();
    const answer = await bodiless('/v2/tickets');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('Content-Type must be');
    expect(await gw.store.statusCounts()).toEqual(before);
  });
});
