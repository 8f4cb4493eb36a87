import axios, { type AxiosInstance, type AxiosResponse, isAxiosError } from 'axios';
import type { WebhookRequest } from './webhook-request';

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; body: string }
  | { kind: 'rate-limited'; retryAfterMs: number; reason: string }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; reason: string };

/** Without a usable Retry-After we wait a second: both Slack and Discord windows are that short. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** Bounds on what a receiver may ask for: no busy loop on "Retry-After: 0", no queue parked for days by one bad header. */
const MIN_RETRY_AFTER_MS = 250;
const MAX_RETRY_AFTER_MS = 15 * 60_000;
const REASON_BODY_CHARS = 200;

export function createWebhookHttp(): AxiosInstance {
  return axios.create({
    // Statuses are classified below rather than thrown.
    validateStatus: () => true,
    // A redirect could point a configured webhook anywhere; webhooks answer directly.
    maxRedirects: 0,
    responseType: 'text',
    transformResponse: (data: unknown) => data,
    maxContentLength: 64 * 1024,
  });
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
export function retryAfterMs(response: Pick<AxiosResponse<string>, 'headers' | 'data'>, nowMs = Date.now()): number {
  const json = parseJson(response.data) as { retry_after?: unknown } | undefined;
  const fromBody = typeof json?.retry_after === 'number' ? json.retry_after * 1000 : undefined;
  const ms = fromBody ?? parseRetryAfterHeader(response.headers['retry-after'], nowMs) ?? DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, Math.ceil(ms)));
}

const bodySnippet = (body: string) => body.replace(/\s+/g, ' ').trim().slice(0, REASON_BODY_CHARS);

export function classifyResponse(response: Pick<AxiosResponse<string>, 'status' | 'headers' | 'data'>): DeliveryOutcome {
  const { status } = response;
  const body = typeof response.data === 'string' ? response.data : '';
  if (status >= 200 && status < 300) return { kind: 'delivered', status, body };
  const reason = `HTTP ${status}${body ? `: ${bodySnippet(body)}` : ''}`;
  if (status === 429) return { kind: 'rate-limited', retryAfterMs: retryAfterMs({ headers: response.headers, data: body }), reason };
  if (status >= 500 || status === 408) return { kind: 'retryable', reason };
  // Other 4xx (bad payload, revoked webhook, deleted channel) will not heal by retrying.
  return { kind: 'permanent', reason };
}

/** One attempt; never throws for HTTP or network failures, it classifies them. */
export async function sendWebhook(http: AxiosInstance, request: WebhookRequest, timeoutMs: number): Promise<DeliveryOutcome> {
  try {
    const response = await http.request<string>({
      method: request.method,
      url: request.url,
      data: request.body,
      headers: request.headers,
      // `timeout` is per socket inactivity; the signal bounds the whole exchange.
      timeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return classifyResponse(response);
  } catch (err) {
    if (isAxiosError(err)) return { kind: 'retryable', reason: `network error: ${err.code ?? 'unknown'}: ${err.message}` };
    throw err;
  }
}
