import http from 'node:http';
import https from 'node:https';
import type { WebhookRequest } from './webhook-request';

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; body: string }
  | { kind: 'rate-limited'; retryAfterMs: number; reason: string }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; reason: string };

export interface WebhookResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  data: string;
}

/**
 * The transport behind sendWebhook, built on node:http because loading an HTTP client library (or
 * undici, behind `fetch`) costs every worker process several MB for a few POSTs.
 */
export interface WebhookHttp {
  /**
   * Throws for a request node:http refuses to build (a bug, not a delivery failure); the promise
   * rejects when the exchange fails, `signal` aborts it, or the answer is too long.
   */
  request(request: WebhookRequest, signal: AbortSignal): Promise<WebhookResponse>;
  /** Destroys the kept-alive sockets, which would otherwise outlive a stopped runtime. */
  close(): void;
}

/** Without a usable Retry-After we wait a second: both Slack and Discord windows are that short. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** Bounds on what a receiver may ask for: no busy loop on "Retry-After: 0", no queue parked for days by one bad header. */
const MIN_RETRY_AFTER_MS = 250;
const MAX_RETRY_AFTER_MS = 15 * 60_000;
const REASON_BODY_CHARS = 200;
/** Webhook answers are a status and a line or a created message; a longer one is not buffered. */
const MAX_RESPONSE_BYTES = 64 * 1024;

type Agents = { http: http.Agent; https: https.Agent };

function openRequest(request: WebhookRequest, signal: AbortSignal, agents: Agents): http.ClientRequest {
  const url = new URL(request.url);
  // node:http follows no redirect, which is wanted: one could point a configured webhook anywhere.
  const options: http.RequestOptions = {
    method: request.method,
    headers: { ...request.headers, 'Content-Length': Buffer.byteLength(request.body) },
    signal,
  };
  if (url.protocol === 'https:') return https.request(url, { ...options, agent: agents.https });
  return http.request(url, { ...options, agent: agents.http });
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw Object.assign(new Error(`response body over ${MAX_RESPONSE_BYTES} bytes`), { code: 'ERR_RESPONSE_TOO_LARGE' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function exchange(request: WebhookRequest, signal: AbortSignal, agents: Agents): Promise<WebhookResponse> {
  const req = openRequest(request, signal, agents);
  const response = new Promise<WebhookResponse>((resolve, reject) => {
    // Stays attached after settling: a destroyed request still emits 'error', which unheard would crash the worker.
    req.on('error', reject);
    req.on('response', (res) => {
      readBody(res).then(
        // A client-side response always has a status code.
        (data) => resolve({ status: res.statusCode!, headers: res.headers, data }),
        (err: Error) => {
          // Frees the socket rather than leave a half-read response on a kept-alive connection.
          req.destroy();
          reject(err);
        },
      );
    });
  });
  req.end(request.body);
  return response;
}

export function createWebhookHttp(): WebhookHttp {
  // A burst to one receiver reuses its connections instead of paying a TLS handshake per alert.
  const agents: Agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return {
    request: (request, signal) => exchange(request, signal, agents),
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function parseRetryAfterHeader(value: unknown, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - nowMs;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Discord puts seconds (a float) in the body's `retry_after`; Slack uses the Retry-After header. */
export function retryAfterMs(response: Pick<WebhookResponse, 'headers' | 'data'>, nowMs = Date.now()): number {
  const json = parseJson(response.data) as { retry_after?: unknown } | undefined;
  const fromBody = typeof json?.retry_after === 'number' ? json.retry_after * 1000 : undefined;
  const ms = fromBody ?? parseRetryAfterHeader(response.headers['retry-after'], nowMs) ?? DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, Math.ceil(ms)));
}

const bodySnippet = (body: string) => body.replace(/\s+/g, ' ').trim().slice(0, REASON_BODY_CHARS);

export function classifyResponse(response: WebhookResponse): DeliveryOutcome {
  const { status, data: body } = response;
  if (status >= 200 && status < 300) return { kind: 'delivered', status, body };
  const reason = `HTTP ${status}${body ? `: ${bodySnippet(body)}` : ''}`;
  if (status === 429) return { kind: 'rate-limited', retryAfterMs: retryAfterMs(response), reason };
  if (status >= 500 || status === 408) return { kind: 'retryable', reason };
  // Other 4xx (bad payload, revoked webhook, deleted channel) will not heal by retrying, nor will
  // a redirect, which is never followed.
  return { kind: 'permanent', reason };
}

/** After an abort the error says only that the request was torn down (or "aborted"); the timeout is why. */
function networkFailureReason(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `network error: ETIMEDOUT: no complete answer within ${timeoutMs} ms`;
  const { code, message } = err as NodeJS.ErrnoException;
  return `network error: ${code ?? 'unknown'}: ${message}`;
}

/** One attempt; never throws for HTTP or network failures, it classifies them. */
export async function sendWebhook(transport: WebhookHttp, request: WebhookRequest, timeoutMs: number): Promise<DeliveryOutcome> {
  // Bounds the whole exchange: connecting, waiting for the answer and reading its body.
  const signal = AbortSignal.timeout(timeoutMs);
  const response = transport.request(request, signal);
  try {
    return classifyResponse(await response);
  } catch (err) {
    return { kind: 'retryable', reason: networkFailureReason(err, signal, timeoutMs) };
  }
}
