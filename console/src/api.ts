import type { AlertDeliveriesResponse, DriftResponse, Explanation, ModelComparison, ModelSwitchResponse, ModelsResponse, ReviewResponse, StatsResponse, TicketResponse } from '@triage/shared';

/** The agent-workflow fields of a ticket (issue 11); optional so the console works against older gateways. */
export interface AgentFields {
  effective_priority?: number | null;
  sla?: { due_at: string; state: 'on_track' | 'at_risk' | 'breached' | 'met' | 'missed' } | null;
  lease?: { agent_id: string; leased_at: string; expires_at: string } | null;
}
export type Ticket = TicketResponse & AgentFields;
export type { AlertDeliveriesResponse, DriftResponse, Explanation, ModelComparison, ModelsResponse, ReviewResponse, StatsResponse };

export interface WaitingList {
  tickets: Ticket[];
  total: number;
}
export interface QueueList {
  model_version: string | null;
  queues: string[];
}
export interface TicketAlerts {
  alerts: Array<{ destination: string; type: string; status: string; attempts: number; last_error: string | null; delivered_at: string | null }>;
}

const KEY = 'triage.apiKey';

/** The API key lives in sessionStorage: gone when the browser tab closes. */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The API's machine-readable reason, where it gives one (an agent action's 409). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<T> {
  const key = init.key ?? session.key();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  } catch {
    throw new ApiError(0, 'the gateway cannot be reached');
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const error = body as { error?: string; code?: string } | null;
    throw new ApiError(res.status, error?.error ?? `HTTP ${res.status}`, error?.code);
  }
  return body as T;
}

export const endpoints = {
  status: (key?: string) => api<Record<string, number>>('/v2/tickets/status', key ? { key } : {}),
  waiting: (limit = 50) => api<WaitingList>(`/v2/tickets/waiting?limit=${limit}`),
  queues: () => api<QueueList>('/v2/queues'),
  next: () => api<Ticket>('/v2/tickets/next'),
  ticket: (id: string) => api<Ticket>(`/v2/tickets/${id}`),
  explain: (id: string) => api<Explanation>(`/v2/tickets/${id}/explain`),
  alerts: (id: string) => api<TicketAlerts>(`/v2/tickets/${id}/alerts`),
  extend: (id: string) => api<Ticket>(`/v2/tickets/${id}/extend`, { method: 'POST' }),
  release: (id: string) => api<Ticket>(`/v2/tickets/${id}/release`, { method: 'POST' }),
  ack: (id: string, body: { queue?: string; priority?: string }) => api<Ticket>(`/v2/tickets/${id}/ack`, { method: 'POST', body }),
  stats: (window: string) => api<StatsResponse>(`/v2/stats?window=${encodeURIComponent(window)}`),
  drift: (window: string) => api<DriftResponse>(`/v2/monitoring/drift?window=${encodeURIComponent(window)}`),
  review: (limit = 10) => api<ReviewResponse>(`/v2/review?limit=${limit}`),
  alertDeliveries: (query: { limit: number; outcome?: string }) =>
    api<AlertDeliveriesResponse>(`/v2/alerts?limit=${query.limit}${query.outcome ? `&outcome=${encodeURIComponent(query.outcome)}` : ''}`),
  models: () => api<ModelsResponse>('/v2/models'),
  ready: () => api<Readiness>('/ready'),
  compare: (candidate: string) => api<ModelComparison>('/v2/models/compare', { method: 'POST', body: { candidate } }),
  comparison: (id: string) => api<ModelComparison>(`/v2/models/compare/${encodeURIComponent(id)}`),
  promote: (candidate: string, force: boolean) => api<ModelSwitchResponse>('/v2/models/promote', { method: 'POST', body: { candidate, force } }),
  rollback: () => api<ModelSwitchResponse>('/v2/models/rollback', { method: 'POST' }),
};

export interface Readiness {
  workers: number;
  model_versions: string[];
  encoder_breakers: Array<{ worker_id: string; state: string; reason: string | null }>;
}


/** Priority band of an urgency score, as the model's urgency mapping (low 0.15, medium 0.5, high 0.9) splits it. */
export function priorityOf(urgency: number | null): 'low' | 'medium' | 'high' | null {
  if (urgency === null) return null;
  return urgency >= 0.7 ? 'high' : urgency >= 0.325 ? 'medium' : 'low';
}
