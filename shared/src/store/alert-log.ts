import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import {
  type AlertDeliveriesQuery,
  type AlertDelivery,
  type AlertDeliveryKind,
  type AlertLogEntry,
  type AlertLogKind,
  type AlertOutcome,
  type DestinationType,
  alertDeliverySchema,
  alertLogEntrySchema,
} from '../schemas';

export type AlertLogPatch = Partial<Pick<AlertLogEntry, 'status' | 'attempts' | 'last_error' | 'delivered_at'>>;

/** A delivery-log line before Redis gives it its position. */
export type AlertDeliveryLine = Omit<AlertDelivery, 'id'>;

/** Hash field of one (destination, kind): the plain destination id for urgent-ticket alerts. */
const fieldOf = (destination: string, kind: AlertLogKind) => (kind === 'ticket' ? destination : `${destination}:${kind}`);

/** The service-wide log keeps about this many lines (XADD MAXLEN ~); each ticket's own log lives as long as the ticket. */
const DELIVERIES_KEPT = 10_000;
/** Lines read per XREVRANGE while filtering, so one request never holds Redis for long. */
const SCAN_PAGE = 500;

/**
 * Per ticket, per destination (and kind) delivery state of alerts, and the service-wide log of
 * every delivery outcome. Written by the worker, read by the gateway. Entries hold ids and error
 * reasons only; callers redact URLs before writing.
 */
export class AlertLog {
  constructor(
    private readonly redis: RedisClient,
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
    const created = (await this.redis.hsetnx(this.keys.alertLog(ticketId), fieldOf(destination, kind), JSON.stringify(entry))) === 1;
    if (created && entry.status === 'grouped') await this.record(lineOf(ticketId, entry, 'grouped'));
    return created;
  }

  async get(ticketId: string, destination: string, kind: AlertLogKind = 'ticket'): Promise<AlertLogEntry | null> {
    const raw = await this.redis.hget(this.keys.alertLog(ticketId), fieldOf(destination, kind));
    return raw === null ? null : parseEntry(raw);
  }

  /**
   * Read-modify-write is safe here: BullMQ runs at most one job per (ticket, destination)
   * at a time, and that job is the only writer after `open`. A new delivery outcome also goes to
   * the service-wide log, in the same transaction.
   */
  async update(ticketId: string, destination: string, patch: AlertLogPatch, kind: AlertLogKind = 'ticket'): Promise<void> {
    const current = await this.get(ticketId, destination, kind);
    if (!current) return;
    const next: AlertLogEntry = { ...current, ...patch, updated_at: new Date().toISOString() };
    const tx = this.redis.multi().hset(this.keys.alertLog(ticketId), fieldOf(destination, kind), JSON.stringify(next));
    const outcome = patch.status;
    if (outcome === 'delivered' || outcome === 'retrying' || outcome === 'failed') this.append(tx, lineOf(ticketId, next, outcome));
    await tx.exec();
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

  /** Appends a line to the service-wide log (alerts without a per-ticket entry: incident posts). */
  async record(line: AlertDeliveryLine): Promise<void> {
    const tx = this.redis.multi();
    this.append(tx, line);
    await tx.exec();
  }

  /** The service-wide log, newest first, filtered; `next_before` pages on to older lines. */
  async deliveries(query: AlertDeliveriesQuery): Promise<{ deliveries: AlertDelivery[]; next_before: string | null }> {
    const found: AlertDelivery[] = [];
    // Nothing precedes the stream's smallest id, and Redis refuses "(0-0" as a range end.
    if (query.before !== undefined && /^0+-0+$/.test(query.before)) return { deliveries: found, next_before: null };
    let end = query.before === undefined ? '+' : `(${query.before}`;
    for (;;) {
      const page = await this.redis.xrevrange(this.keys.alertDeliveries, end, '-', 'COUNT', SCAN_PAGE);
      for (const [id, fields] of page) {
        const line = parseLine(id, fields);
        if (!line || (query.kind && line.kind !== query.kind) || (query.outcome && line.outcome !== query.outcome) || (query.destination && line.destination !== query.destination)) continue;
        found.push(line);
        if (found.length === query.limit) return { deliveries: found, next_before: id };
      }
      if (page.length < SCAN_PAGE) return { deliveries: found, next_before: null };
      end = `(${page[page.length - 1]![0]}`;
    }
  }

  private append(tx: ReturnType<RedisClient['multi']>, line: AlertDeliveryLine): void {
    tx.xadd(this.keys.alertDeliveries, 'MAXLEN', '~', DELIVERIES_KEPT, '*', 'line', JSON.stringify(line));
  }
}

function lineOf(ticketId: string, entry: AlertLogEntry, outcome: AlertOutcome): AlertDeliveryLine {
  return {
    at: entry.updated_at,
    kind: entry.kind satisfies AlertDeliveryKind,
    ticket_id: ticketId,
    incident_id: entry.incident_id,
    destination: entry.destination,
    type: entry.type,
    outcome,
    attempts: entry.attempts,
    error: outcome === 'delivered' || outcome === 'grouped' ? null : entry.last_error,
  };
}

function parseLine(id: string, fields: string[]): AlertDelivery | null {
  const at = fields.indexOf('line');
  const raw = at < 0 ? undefined : fields[at + 1];
  if (raw === undefined) return null;
  try {
    const parsed = alertDeliverySchema.safeParse({ ...(JSON.parse(raw) as object), id });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function parseEntry(raw: string): AlertLogEntry | null {
  const parsed = alertLogEntrySchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}
