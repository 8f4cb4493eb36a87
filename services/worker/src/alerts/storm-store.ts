import { type RedisClient, type RedisKeys, type RedisScript, defineScript } from '@triage/shared';
import type { IncidentView } from './alert-content';
import { ASSIGN_TO_STORM } from './storm-scripts';

export type StormDecision = 'single' | 'open' | 'grouped';

export interface StormAssignment {
  incidentId: string;
  /** single: alert on its own; open: this ticket opens the incident; grouped: it joins an open one. */
  decision: StormDecision;
}

export interface StormSettings {
  size: number;
  windowMs: number;
  similarity: number;
}

/** Incident state outlives its window by a day, so late retries and updates still find it. */
const STATE_TTL_MS = 24 * 60 * 60_000;
const LISTED_TICKETS = 10;
/** Keeps one assignment under ~3 ms of Redis time even with hundreds of distinct urgent topics. */
const MAX_CLUSTERS_COMPARED = 64;

/** Near-duplicate grouping of urgent tickets per destination, kept in Redis across restarts. */
export class StormStore {
  private readonly assignScript: RedisScript<string>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly settings: StormSettings,
  ) {
    this.assignScript = defineScript<string>(redis, 'triageAssignToStorm', ASSIGN_TO_STORM);
  }

  private cluster(destination: string, incidentId: string): string {
    return `${this.keys.storm(destination)}:c:${incidentId}`;
  }

  /** Idempotent per (destination, ticket): a reprocessed ticket gets its first answer back. */
  async assign(destination: string, ticketId: string, embedding: readonly number[], label: string, newIncidentId: string, nowMs = Date.now()): Promise<StormAssignment> {
    const base = this.keys.storm(destination);
    const reply = await this.assignScript(
      2,
      `${base}:clusters`,
      `${base}:t:${ticketId}`,
      base,
      nowMs,
      this.settings.windowMs,
      this.settings.similarity,
      this.settings.size,
      ticketId,
      newIncidentId,
      // Six decimals keep cosine error far below the 0.9 threshold and the payload small.
      JSON.stringify(embedding.map((x) => Math.round(x * 1e6) / 1e6)),
      label,
      Math.max(STATE_TTL_MS, this.settings.windowMs * 2),
      MAX_CLUSTERS_COMPARED,
    );
    const [incidentId, decision] = reply.split('|') as [string, StormDecision];
    return { incidentId, decision };
  }

  /** The incident as an alert shows it, or null once its state has expired. */
  async view(destination: string, incidentId: string, phase: IncidentView['phase']): Promise<IncidentView | null> {
    const ck = this.cluster(destination, incidentId);
    const [meta, count, recent] = await Promise.all([
      this.redis.hmget(ck, 'first_ms', 'last_ms'),
      this.redis.zcard(`${ck}:m`),
      this.redis.zrevrange(`${ck}:m`, 0, LISTED_TICKETS - 1),
    ]);
    if (meta[0] === null || meta[1] === null || count === 0) return null;
    const labels = await this.redis.hmget(`${ck}:l`, ...recent);
    return {
      incident_id: incidentId,
      phase,
      count,
      first_at: new Date(Number(meta[0])).toISOString(),
      last_at: new Date(Number(meta[1])).toISOString(),
      tickets: recent.map((ticketId, i) => ({ ticket_id: ticketId, label: labels[i] ?? ticketId })),
    };
  }

  /** What the destination last showed: the count it was sent and (Discord) the message to edit. */
  async delivery(destination: string, incidentId: string): Promise<{ sentCount: number | null; messageId: string | null }> {
    const [sent, messageId] = await this.redis.hmget(this.cluster(destination, incidentId), 'sent_count', 'message_id');
    return { sentCount: sent === null ? null : Number(sent), messageId: messageId ?? null };
  }

  async recordDelivery(destination: string, incidentId: string, sentCount: number, messageId?: string): Promise<void> {
    const fields: Record<string, string | number> = { sent_count: sentCount };
    if (messageId !== undefined) fields.message_id = messageId;
    await this.redis.hset(this.cluster(destination, incidentId), fields);
  }
}
