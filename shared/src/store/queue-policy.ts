import { DAY_MS, type GatewayConfig, type SlaPolicy, type WorkerConfig } from '../config';

/** How the agents' queue orders, times and keeps tickets; from the service config (agentsEnv). */
export interface QueuePolicy {
  leaseTtlMs: number;
  agingPerHour: number;
  sla: SlaPolicy;
  slaWarnBeforeMs: number;
  retentionMs: number;
}

type AgentsConfig = Pick<GatewayConfig & WorkerConfig, 'LEASE_TTL_MS' | 'AGING_PER_HOUR' | 'SLA_POLICY' | 'SLA_WARN_BEFORE_MS' | 'RETENTION_DAYS'>;

export function queuePolicy(config: AgentsConfig): QueuePolicy {
  return {
    leaseTtlMs: config.LEASE_TTL_MS,
    agingPerHour: config.AGING_PER_HOUR,
    sla: config.SLA_POLICY,
    slaWarnBeforeMs: config.SLA_WARN_BEFORE_MS,
    retentionMs: Math.round(config.RETENTION_DAYS * DAY_MS),
  };
}

const HOUR_MS = 3_600_000;

/**
 * The static ZSET score, for the scripts: effective priority u + a·(now − t0) orders exactly like
 * u − a·t0, because `now` is the same for every ticket. So one ZPOPMAX stays exact without
 * rescoring, as long as every entry was scored with the same rate `a`: the scripts score with the
 * rate the queue records, and a new rate means rescoring the whole queue (TicketStore.rescoreQueue).
 */
export const QUEUE_SCORE_LUA = `
local function queue_score(urgency, queued_at_ms, rate) return urgency - rate * queued_at_ms / ${HOUR_MS} end
`;

/** What the queue score means at `nowMs`: urgency + aging × hours waited. */
export const effectivePriority = (score: number, nowMs: number, agingPerHour: number) => score + (agingPerHour * nowMs) / HOUR_MS;

/** Due time by the first band (most urgent first) whose minimum the urgency reaches. */
export function dueAt(policy: SlaPolicy, urgency: number, acceptedAtMs: number): number {
  const band = policy.find((b) => urgency >= b.minUrgency) ?? policy.at(-1)!;
  return acceptedAtMs + band.withinMs;
}
