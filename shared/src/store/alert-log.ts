import type { Redis } from 'ioredis';
import type { RedisKeys } from '../queues';
import { type AlertLogEntry, type AlertLogKind, type DestinationType, alertLogEntrySchema } from '../schemas';

export type AlertLogPatch = Partial<Pick<AlertLogEntry, 'status' | 'attempts' | 'last_error' | 'delivered_at'>>;

/** Hash field of one (destination, kind): the plain destination id for urgent-ticket alerts. */
const fieldOf = (destination: string, kind: AlertLogKind) => (kind === 'ticket' ? destination : `${destination}:${kind}`);

/**
 * Per ticket, per destination (and kind) delivery state of alerts. Written by the worker, read by the
 * gateway. Entries hold ids and error reasons only; callers redact URLs before writing.
 */
export class AlertLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Creates the entry unless one exists, so a reprocessed ticket never resets a delivered
   * alert to `queued`. → true when created.
   */
  async open(
    ticketId: string,
    destination: string,
    type: DestinationType,
    initial: { status: 'queued' } | { status: 'grouped'; incidentId: string },
    kind: AlertLogKind = 'ticket',
  ): Promise<boolean> {
    const entry: AlertLogEntry = {
      destination,
      kind,
      type,
      status: initial.status,
      attempts: 0,
      last_error: null,
      delivered_at: null,
      updated_at: new Date().toISOString(),
      incident_id: initial.status === 'grouped' ? initial.incidentId : null,
    };
    return (await this.redis.hsetnx(this.keys.alertLog(ticketId), fieldOf(destination, kind), JSON.stringify(entry))) === 1;
  }

  async get(ticketId: string, destination: string, kind: AlertLogKind = 'ticket'): Promise<AlertLogEntry | null> {
    const raw = await this.redis.hget(this.keys.alertLog(ticketId), fieldOf(destination, kind));
    return raw === null ? null : parseEntry(raw);
  }

  /**
   * Read-modify-write is safe here: BullMQ runs at most one job per (ticket, destination)
   * at a time, and that job is the only writer after `open`.
   */
  async update(ticketId: string, destination: string, patch: AlertLogPatch, kind: AlertLogKind = 'ticket'): Promise<void> {
    const current = await this.get(ticketId, destination, kind);
    if (!current) return;
    const next: AlertLogEntry = { ...current, ...patch, updated_at: new Date().toISOString() };
    await this.redis.hset(this.keys.alertLog(ticketId), fieldOf(destination, kind), JSON.stringify(next));
  }

  /** Every entry of a ticket, ordered by destination id (then kind). */
  async list(ticketId: string): Promise<AlertLogEntry[]> {
    const hash = await this.redis.hgetall(this.keys.alertLog(ticketId));
    return Object.keys(hash)
      .sort()
      .flatMap((destination) => {
        const entry = parseEntry(hash[destination]!);
        return entry ? [entry] : [];
      });
  }
}

function parseEntry(raw: string): AlertLogEntry | null {
  const parsed = alertLogEntrySchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}
