import type { Redis } from 'ioredis';
import type { RedisKeys } from '../queues';
import {
  type ModelUsed,
  type StatusCountsResponse,
  type TicketResponse,
  type TicketStatus,
  type TriageAction,
  ticketResponseSchema,
} from '../schemas';
import { COMMIT_RESULT, CREATE_TICKET, DISCARD_PENDING_TICKET, POP_MOST_URGENT, RELEASE_LOCK, RENEW_LOCK, TRANSITION_STATUS } from './ticket-scripts';

export interface NewTicket {
  ticket_id: string;
  subject?: string | undefined;
  body: string;
  customer_id?: string | undefined;
  channel?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  accepted_at: string;
  /** Principal (API key id) that submitted it; a client key reads only its own tickets. */
  submitted_by?: string | undefined;
}

export interface TriageResult {
  category: string;
  confidence: number;
  top3: { category: string; probability: number }[];
  urgency_score: number;
  action: TriageAction;
  model_version: string;
  model_used: ModelUsed;
  processed_at: string;
  queue_ms: number;
  inference_ms: number;
}

export type CommitOutcome = 'committed' | 'already-processed' | 'lock-lost' | 'missing';

export interface TransitionOutcome {
  applied: boolean;
  previous: TicketStatus;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Registers a script under a namespaced name; ioredis then handles EVALSHA/NOSCRIPT. */
function defineScript(redis: Redis, name: string, lua: string): ScriptFn {
  redis.defineCommand(name, { lua });
  return (...args) => (redis as unknown as Record<string, ScriptFn>)[name]!(...args);
}

/** Flattens an object into HSET field/value pairs, skipping absent values. */
function toPairs(fields: Record<string, string | number | undefined>): string[] {
  return Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
}

function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

const num = (s: string | undefined) => (s === undefined ? null : Number(s));
const json = <T>(s: string | undefined): T | null => (s === undefined ? null : (JSON.parse(s) as T));

/** Maps the stored hash to the API shape, validating it on the way out. */
export function toTicketResponse(hash: Record<string, string>): TicketResponse {
  const queueMs = num(hash.queue_ms);
  const inferenceMs = num(hash.inference_ms);
  return ticketResponseSchema.parse({
    ticket_id: hash.ticket_id,
    subject: hash.subject ?? null,
    body: hash.body,
    customer_id: hash.customer_id ?? null,
    channel: hash.channel ?? null,
    metadata: json(hash.metadata),
    status: hash.status,
    category: hash.category ?? null,
    confidence: num(hash.confidence),
    top3: json(hash.top3),
    urgency_score: num(hash.urgency_score),
    action: hash.action ?? null,
    model_version: hash.model_version ?? null,
    model_used: hash.model_used ?? null,
    accepted_at: hash.accepted_at,
    processed_at: hash.processed_at ?? null,
    timings: queueMs === null || inferenceMs === null ? null : { queue_ms: queueMs, inference_ms: inferenceMs },
    ...(hash.error === undefined ? {} : { error: hash.error }),
  });
}

/** Ticket records, status counters, the agents' urgency queue and per-ticket locks. */
export class TicketStore {
  private readonly createScript: ScriptFn;
  private readonly discardScript: ScriptFn;
  private readonly transitionScript: ScriptFn;
  private readonly commitScript: ScriptFn;
  private readonly popScript: ScriptFn;
  private readonly releaseScript: ScriptFn;
  private readonly renewScript: ScriptFn;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.createScript = defineScript(redis, 'triageCreateTicket', CREATE_TICKET);
    this.discardScript = defineScript(redis, 'triageDiscardPendingTicket', DISCARD_PENDING_TICKET);
    this.transitionScript = defineScript(redis, 'triageTransitionStatus', TRANSITION_STATUS);
    this.commitScript = defineScript(redis, 'triageCommitResult', COMMIT_RESULT);
    this.popScript = defineScript(redis, 'triagePopMostUrgent', POP_MOST_URGENT);
    this.releaseScript = defineScript(redis, 'triageReleaseLock', RELEASE_LOCK);
    this.renewScript = defineScript(redis, 'triageRenewLock', RENEW_LOCK);
  }

  /**
   * Stores a pending ticket. With an idempotency key that was seen before, nothing is written
   * and the earlier ticket's id comes back with `created: false`.
   */
  async create(
    ticket: NewTicket,
    idempotency?: { key: string; ttlSeconds: number },
  ): Promise<{ ticketId: string; created: boolean }> {
    const keys = [this.keys.ticket(ticket.ticket_id), this.keys.statusCounts];
    if (idempotency) keys.push(this.keys.idempotency(idempotency.key));
    const fields = toPairs({
      ticket_id: ticket.ticket_id,
      status: 'pending',
      subject: ticket.subject,
      body: ticket.body,
      customer_id: ticket.customer_id,
      channel: ticket.channel,
      metadata: ticket.metadata === undefined ? undefined : JSON.stringify(ticket.metadata),
      accepted_at: ticket.accepted_at,
      submitted_by: ticket.submitted_by,
    });
    const reply = (await this.createScript(keys.length, ...keys, ticket.ticket_id, idempotency?.ttlSeconds ?? 0, ...fields)) as [
      number,
      string,
    ];
    return { ticketId: reply[1], created: reply[0] === 1 };
  }

  /** Removes a still-pending ticket (and its idempotency key) whose job could not be queued. */
  async discardPending(ticketId: string, idempotencyKey?: string): Promise<boolean> {
    const keys = [this.keys.ticket(ticketId), this.keys.statusCounts];
    if (idempotencyKey !== undefined) keys.push(this.keys.idempotency(idempotencyKey));
    return (await this.discardScript(keys.length, ...keys, ticketId)) === 1;
  }

  /** Who submitted the ticket (null for tickets stored before owners were recorded, or missing). */
  async submitter(ticketId: string): Promise<string | null> {
    return this.redis.hget(this.keys.ticket(ticketId), 'submitted_by');
  }

  async get(ticketId: string): Promise<TicketResponse | null> {
    const hash = await this.redis.hgetall(this.keys.ticket(ticketId));
    return Object.keys(hash).length === 0 ? null : toTicketResponse(hash);
  }

  /** Moves a ticket to `to` if it is currently in one of `from`; null when it does not exist. */
  async transition(
    ticketId: string,
    from: readonly TicketStatus[],
    to: TicketStatus,
    fields: Record<string, string | number | undefined> = {},
  ): Promise<TransitionOutcome | null> {
    const reply = (await this.transitionScript(
      2,
      this.keys.ticket(ticketId),
      this.keys.statusCounts,
      to,
      from.join(','),
      ...toPairs(fields),
    )) as [number, TicketStatus] | null;
    return reply === null ? null : { applied: reply[0] === 1, previous: reply[1] };
  }

  async commitResult(ticketId: string, lockToken: string, result: TriageResult): Promise<CommitOutcome> {
    const { top3, ...scalars } = result;
    return (await this.commitScript(
      4,
      this.keys.ticket(ticketId),
      this.keys.statusCounts,
      this.keys.urgency,
      this.keys.ticketLock(ticketId),
      lockToken,
      ticketId,
      result.urgency_score,
      ...toPairs({ ...scalars, top3: JSON.stringify(top3) }),
    )) as CommitOutcome;
  }

  /** Atomically takes the processed ticket with the highest urgency off the agents' queue. */
  async popMostUrgent(): Promise<TicketResponse | null> {
    const flat = (await this.popScript(1, this.keys.urgency, this.keys.ticket(''), new Date().toISOString())) as string[] | null;
    return flat === null ? null : toTicketResponse(pairsToObject(flat));
  }

  async statusCounts(): Promise<StatusCountsResponse> {
    const [counts, waiting] = await Promise.all([
      this.redis.hmget(this.keys.statusCounts, 'pending', 'processing', 'processed', 'failed'),
      this.redis.zcard(this.keys.urgency),
    ]);
    const [pending, processing, processed, failed] = counts.map((c) => Number(c ?? 0));
    return {
      pending: pending ?? 0,
      processing: processing ?? 0,
      processed: processed ?? 0,
      failed: failed ?? 0,
      waiting_for_agent: waiting,
    };
  }

  async acquireLock(ticketId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.ticketLock(ticketId), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Compare-and-extend: false when the lock expired (and may belong to another worker now). */
  async renewLock(ticketId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.renewScript(1, this.keys.ticketLock(ticketId), token, ttlMs)) === 1;
  }

  /** Compare-and-delete: never removes a lock that expired and was taken by another worker. */
  async releaseLock(ticketId: string, token: string): Promise<boolean> {
    return (await this.releaseScript(1, this.keys.ticketLock(ticketId), token)) === 1;
  }
}
