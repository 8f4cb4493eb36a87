import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import {
  type Correction,
  type FeedbackEntry,
  type ModelUsed,
  type Sla,
  type StatusCountsResponse,
  type TicketResponse,
  type TicketStatus,
  type TriageAction,
  correctionSchema,
  ticketResponseSchema,
} from '../schemas';
import { commandDeadline, fenced, withDeadline } from './deadline';
import { type QueuePolicy, dueAt, effectivePriority } from './queue-policy';
import { type RedisScript, defineScript } from './redis-script';
import {
  ACK_TICKET,
  ADD_CORRECTION,
  COMMIT_RESULT,
  CREATE_TICKET,
  DELETE_EXPIRED_RECORDS,
  DISCARD_PENDING_TICKET,
  EXTEND_LEASE,
  LEASE_NEXT,
  MARK_SLA_ALERTED,
  QUEUE_RATE_SINCE_SUFFIX,
  QUEUE_RATE_SUFFIX,
  RECLAIM_EXPIRED_LEASES,
  RELEASE_LOCK,
  RELEASE_TICKET,
  RENEW_LOCK,
  STAGE_RESCORE,
  START_PROCESSING,
  SWAP_RESCORED,
  TRANSITION_STATUS,
} from './ticket-scripts';

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

export interface Idempotency {
  key: string;
  ttlSeconds: number;
}

export interface CreateOutcome {
  ticketId: string;
  created: boolean;
}

const CREATE_COMMAND = 'triageCreateTicketFenced';

export type CommitOutcome = 'committed' | 'already-processed' | 'lock-lost' | 'missing';

/** A committed result comes back with the ticket's record as stored. */
export type CommitReply = { outcome: 'committed'; ticket: TicketResponse } | { outcome: Exclude<CommitOutcome, 'committed'> };

/**
 * A worker's start on a ticket: 'started' holds the ticket lock with the ticket now processing;
 * every other outcome holds no lock ('locked': another worker has it; 'done': the ticket is past
 * processing, in `status`).
 */
export type StartOutcome =
  | { outcome: 'started'; previous: TicketStatus }
  | { outcome: 'locked' | 'missing' }
  | { outcome: 'done'; status: TicketStatus };

export interface TransitionOutcome {
  applied: boolean;
  previous: TicketStatus;
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
const iso = (ms: string | undefined) => (ms === undefined ? null : new Date(Number(ms)).toISOString());

/** When a ticket entered the agents' queue: when it was accepted (the customer's wait began), else when it was triaged. */
function queuedAt(acceptedAt: string | null | undefined, processedAt: string | null | undefined): number {
  const accepted = Date.parse(acceptedAt ?? '');
  return Number.isNaN(accepted) ? Date.parse(processedAt ?? '') : accepted;
}

export interface ReadContext {
  nowMs: number;
  slaWarnBeforeMs: number;
}

function slaOf(hash: Record<string, string>, ctx: ReadContext): Sla | null {
  if (hash.due_at === undefined) return null;
  const due = Number(hash.due_at);
  const due_at = new Date(due).toISOString();
  // The clock stops when an agent first takes the ticket.
  if (hash.first_leased_at !== undefined) return { due_at, state: Number(hash.first_leased_at) <= due ? 'met' : 'missed' };
  if (ctx.nowMs >= due) return { due_at, state: 'breached' };
  return { due_at, state: ctx.nowMs >= due - ctx.slaWarnBeforeMs ? 'at_risk' : 'on_track' };
}

function effectiveOf(hash: Record<string, string>, ctx: ReadContext): number | null {
  if ((hash.status !== 'processed' && hash.status !== 'leased') || hash.queue_score === undefined) return null;
  const value = effectivePriority(Number(hash.queue_score), ctx.nowMs, Number(hash.aging_per_hour ?? 0));
  return Math.round(value * 1e6) / 1e6;
}

function correctionOf(raw: string | undefined): Correction | null {
  if (raw === undefined) return null;
  const parsed = correctionSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

/** Maps the stored hash to the API shape, validating it on the way out. */
export function toTicketResponse(hash: Record<string, string>, ctx: ReadContext): TicketResponse {
  const queueMs = num(hash.queue_ms);
  const inferenceMs = num(hash.inference_ms);
  const leased = hash.status === 'leased' && hash.lease_agent !== undefined;
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
    effective_priority: effectiveOf(hash, ctx),
    sla: slaOf(hash, ctx),
    lease: leased ? { agent_id: hash.lease_agent, leased_at: iso(hash.leased_at), expires_at: iso(hash.lease_expires_at) } : null,
    done: hash.status === 'done' ? { agent_id: hash.done_by, at: iso(hash.done_at) } : null,
    correction: correctionOf(hash.correction),
    ...(hash.error === undefined ? {} : { error: hash.error }),
  });
}

/** Why a holder action (ack, release, extend) was refused. */
export type LeaseRefusal =
  | { reason: 'missing' }
  | { reason: 'not-holder'; status: 'leased' | 'done'; holder: string }
  | { reason: 'not-leased'; status: TicketStatus }
  | { reason: 'expired' };

export type HolderOutcome = { ok: true; ticket: TicketResponse; feedbackId?: string; alreadyDone?: boolean } | ({ ok: false } & LeaseRefusal);

export type CorrectionOutcome = { ok: true; feedbackId: string } | { ok: false; status: TicketStatus | null };

/** A correction as the hash keeps it and the stream entry that records it. */
export interface CorrectionWrite {
  correction: Correction;
  entry: FeedbackEntry;
}

function refusal(reply: string[]): LeaseRefusal {
  switch (reply[0]) {
    case 'missing':
      return { reason: 'missing' };
    case 'expired':
      return { reason: 'expired' };
    case 'not-holder':
      return { reason: 'not-holder', status: reply[1] as 'leased' | 'done', holder: reply[2]! };
    default:
      return { reason: 'not-leased', status: reply[1] as TicketStatus };
  }
}

/** Leases expired leases are reclaimed (and a rescoring stages tickets) in batches of this many per script call. */
const RECLAIM_BATCH = 100;

/** A rescoring's staging set outlives its last chunk by this long, so one that crashed leaves nothing behind for good. */
const STAGING_TTL_MS = 600_000;

/**
 * Ticket records, status counters, the agents' queue with its leases, SLA and retention
 * indexes, corrections, and per-ticket locks.
 */
export class TicketStore {
  private readonly scripts: Record<
    'create' | 'discard' | 'transition' | 'start' | 'commit' | 'leaseNext' | 'reclaim' | 'ack' | 'release' | 'extend' | 'correct' | 'unlock' | 'renew' | 'deleteExpired' | 'markSla' | 'stageRescore' | 'swapRescored',
    RedisScript
  >;
  /** The rescoring under way from this store, which concurrent callers join. */
  private rescoring: Promise<number> | undefined;
  /** The queue follows the rate of a process started after this one: its commits leave the queue alone. */
  private deferring = false;

  /**
   * `startedAt`: when this process's settings took effect (ms). While two AGING_PER_HOUR values are live
   * (mid rolling restart), the queue follows the process started last instead of going back and forth.
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly policy: QueuePolicy,
    private readonly startedAt = Date.now(),
  ) {
    this.scripts = {
      // Fenced: a create or lease the gateway already answered 503 for must not happen later.
      create: defineScript(redis, CREATE_COMMAND, withDeadline(CREATE_TICKET)),
      discard: defineScript(redis, 'triageDiscardPendingTicket', DISCARD_PENDING_TICKET),
      transition: defineScript(redis, 'triageTransitionStatus', TRANSITION_STATUS),
      start: defineScript(redis, 'triageStartProcessing', START_PROCESSING),
      commit: defineScript(redis, 'triageCommitResult', COMMIT_RESULT),
      leaseNext: defineScript(redis, 'triageLeaseNextFenced', withDeadline(LEASE_NEXT)),
      reclaim: defineScript(redis, 'triageReclaimLeases', RECLAIM_EXPIRED_LEASES),
      ack: defineScript(redis, 'triageAckTicket', ACK_TICKET),
      release: defineScript(redis, 'triageReleaseTicket', RELEASE_TICKET),
      extend: defineScript(redis, 'triageExtendLease', EXTEND_LEASE),
      correct: defineScript(redis, 'triageAddCorrection', ADD_CORRECTION),
      unlock: defineScript(redis, 'triageReleaseLock', RELEASE_LOCK),
      renew: defineScript(redis, 'triageRenewLock', RENEW_LOCK),
      deleteExpired: defineScript(redis, 'triageDeleteExpiredRecords', DELETE_EXPIRED_RECORDS),
      markSla: defineScript(redis, 'triageMarkSlaAlerted', MARK_SLA_ALERTED),
      stageRescore: defineScript(redis, 'triageStageRescore', STAGE_RESCORE),
      swapRescored: defineScript(redis, 'triageSwapRescored', SWAP_RESCORED),
    };
  }

  private readContext(): ReadContext {
    return { nowMs: Date.now(), slaWarnBeforeMs: this.policy.slaWarnBeforeMs };
  }

  /**
   * Stores a pending ticket. With an idempotency key that was seen before, nothing is written
   * and the earlier ticket's id comes back with `created: false`.
   */
  async create(ticket: NewTicket, idempotency?: Idempotency): Promise<CreateOutcome> {
    const reply = (await fenced(this.scripts.create(...this.createArgs(ticket, idempotency, commandDeadline(this.redis))))) as [number, string];
    return { ticketId: reply[1], created: reply[0] === 1 };
  }

  /**
   * `create` for many tickets in one round trip (one MULTI of the same script), outcomes in order.
   * When any call fails, the tickets the others stored are discarded (best effort) and the
   * first error is raised: the caller answers that the batch failed as a whole.
   */
  async createMany(items: { ticket: NewTicket; idempotency?: Idempotency | undefined }[]): Promise<CreateOutcome[]> {
    const deadline = commandDeadline(this.redis);
    const multi = this.redis.multi();
    for (const { ticket, idempotency } of items) this.scripts.create.in(multi, ...this.createArgs(ticket, idempotency, deadline));
    const replies = (await multi.exec()) ?? [];
    const failure = replies.find(([err]) => err !== null)?.[0] ?? (replies.length === items.length ? null : new Error('transaction aborted'));
    const outcomes = replies.map(([err, reply]) => (err === null ? { ticketId: (reply as [number, string])[1], created: (reply as [number, string])[0] === 1 } : null));
    if (failure) {
      const stored = outcomes.flatMap((o, i) => (o?.created ? [{ ticketId: o.ticketId, key: items[i]!.idempotency?.key }] : []));
      await Promise.all(stored.map((t) => this.discardPending(t.ticketId, t.key).catch(() => false)));
      return fenced(Promise.reject(failure));
    }
    return outcomes as CreateOutcome[];
  }

  private createArgs(ticket: NewTicket, idempotency: Idempotency | undefined, deadline: number): (string | number)[] {
    const keys = [this.keys.ticket(ticket.ticket_id), this.keys.statusCounts, this.keys.pending];
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
    return [keys.length, ...keys, deadline, ticket.ticket_id, idempotency?.ttlSeconds ?? 0, Date.parse(ticket.accepted_at), ...fields];
  }

  /** Removes a still-pending ticket (and its idempotency key) whose job could not be queued. */
  async discardPending(ticketId: string, idempotencyKey?: string): Promise<boolean> {
    const keys = [this.keys.ticket(ticketId), this.keys.statusCounts, this.keys.pending];
    if (idempotencyKey !== undefined) keys.push(this.keys.idempotency(idempotencyKey));
    return (await this.scripts.discard(keys.length, ...keys, ticketId)) === 1;
  }

  /** Who submitted the ticket (null for tickets stored before owners were recorded, or missing). */
  async submitter(ticketId: string): Promise<string | null> {
    return this.redis.hget(this.keys.ticket(ticketId), 'submitted_by');
  }

  async get(ticketId: string): Promise<TicketResponse | null> {
    const hash = await this.redis.hgetall(this.keys.ticket(ticketId));
    return Object.keys(hash).length === 0 ? null : toTicketResponse(hash, this.readContext());
  }

  /**
   * Moves a ticket to `to` if it is currently in one of `from`; null when it does not exist.
   * A ticket that fails is kept for the retention period like a processed one.
   */
  async transition(
    ticketId: string,
    from: readonly TicketStatus[],
    to: TicketStatus,
    fields: Record<string, string | number | undefined> = {},
  ): Promise<TransitionOutcome | null> {
    const deleteAt = to === 'failed' ? Date.now() + this.policy.retentionMs : 0;
    const reply = (await this.scripts.transition(
      4,
      this.keys.ticket(ticketId),
      this.keys.statusCounts,
      this.keys.pending,
      this.keys.retention,
      to,
      from.join(','),
      ticketId,
      deleteAt,
      ...toPairs(fields),
    )) as [number, TicketStatus] | null;
    return reply === null ? null : { applied: reply[0] === 1, previous: reply[1] };
  }

  /**
   * Takes the ticket lock and moves the ticket to processing, in one round trip (see StartOutcome).
   * A ticket that is already past processing, or missing, leaves no lock behind.
   */
  async startProcessing(ticketId: string, token: string, lockTtlMs: number): Promise<StartOutcome> {
    const reply = (await this.scripts.start(
      5,
      this.keys.ticketLock(ticketId),
      this.keys.ticket(ticketId),
      this.keys.statusCounts,
      this.keys.pending,
      this.keys.retention,
      token,
      lockTtlMs,
      ticketId,
    )) as [string, TicketStatus?];
    switch (reply[0]) {
      case 'started':
        return { outcome: 'started', previous: reply[1]! };
      case 'done':
        return { outcome: 'done', status: reply[1]! };
      default:
        return { outcome: reply[0] as 'locked' | 'missing' };
    }
  }

  /**
   * Stores a result and queues the ticket for agents, with its aging score and SLA due time
   * (both counted from when the ticket was accepted: that is when the customer started waiting).
   * Only while `lockToken` holds the ticket lock; the lock is given back by every outcome but
   * 'lock-lost', and a committed ticket comes back as stored. A queue scored with another aging
   * rate than ours starts a rescoring (see rescoreQueue).
   */
  async commitResult(ticketId: string, lockToken: string, result: TriageResult, accepted?: string): Promise<CommitReply> {
    const { top3, ...scalars } = result;
    // The worker knows accepted_at from the job (written from the same record): one round trip less per ticket.
    const since = queuedAt(accepted ?? (await this.redis.hget(this.keys.ticket(ticketId), 'accepted_at')), result.processed_at);
    const { agingPerHour } = this.policy;
    const reply = (await this.scripts.commit(
      8,
      this.keys.ticket(ticketId),
      this.keys.statusCounts,
      this.keys.urgency,
      this.keys.ticketLock(ticketId),
      this.keys.sla,
      this.keys.retention,
      this.keys.pending,
      this.keys.leases,
      lockToken,
      ticketId,
      result.urgency_score,
      since,
      agingPerHour,
      dueAt(this.policy.sla, result.urgency_score, since),
      Date.parse(result.processed_at) + this.policy.retentionMs,
      this.startedAt,
      ...toPairs({ ...scalars, top3: JSON.stringify(top3) }),
    )) as [CommitOutcome, string[]?, (string | null)?];
    if (reply[0] !== 'committed') return { outcome: reply[0] };
    // Not awaited: the commit is done either way, and the maintenance sweep retries (and logs) a failed rescoring.
    if (reply[2] !== String(agingPerHour) && !this.deferring) void this.rescoreQueue().catch(() => undefined);
    return { outcome: 'committed', ticket: toTicketResponse(pairsToObject(reply[1]!), this.readContext()) };
  }

  /**
   * Rescores the agents' queue with our AGING_PER_HOUR when it was scored with another rate (a
   * restart with a new rate, or a queue from before rates were recorded) → how many tickets were
   * rescored. Not when that rate is a process's started after ours: the newer setting stands, and the
   * older process keeps scoring with it like every writer. Chunks are staged aside and swapped in by one
   * script, so /next never sees the queue half rescored; writers meanwhile keep scoring with the
   * queue's recorded rate.
   */
  rescoreQueue(): Promise<number> {
    this.rescoring ??= this.rescoreIfStale().finally(() => (this.rescoring = undefined));
    return this.rescoring;
  }

  private async rescoreIfStale(): Promise<number> {
    const rate = String(this.policy.agingPerHour);
    const [recorded, since] = await this.redis.mget(`${this.keys.urgency}${QUEUE_RATE_SUFFIX}`, `${this.keys.urgency}${QUEUE_RATE_SINCE_SUFFIX}`);
    this.deferring = recorded !== rate && Number(since) > this.startedAt;
    if (recorded === rate || this.deferring) return 0;
    // Our own staging set: two processes rescoring at once never mix their scores.
    const staging = `${this.keys.urgency}:rescoring:${randomUUID()}`;
    let staged = 0;
    // Leased tickets too: they need a queue entry time to be requeued under the new rate.
    for (const index of [this.keys.urgency, this.keys.leases]) {
      for await (const flat of this.redis.zscanStream(index, { count: RECLAIM_BATCH })) {
        staged += await this.stage(staging, rate, (flat as string[]).filter((_, i) => i % 2 === 0));
      }
    }
    for (;;) {
      const missing = (await this.scripts.swapRescored(2, this.keys.urgency, staging, rate, this.startedAt)) as string[];
      if (missing.length === 0) return staged;
      staged += await this.stage(staging, rate, missing);
    }
  }

  /** Stages the new scores of `ids` in chunks → how many of them were waiting. */
  private async stage(staging: string, rate: string, ids: string[]): Promise<number> {
    let staged = 0;
    for (let i = 0; i < ids.length; i += RECLAIM_BATCH) {
      const chunk = ids.slice(i, i + RECLAIM_BATCH);
      const times = await Promise.all(chunk.map((id) => this.redis.hmget(this.keys.ticket(id), 'accepted_at', 'processed_at')));
      const pairs = chunk.flatMap((id, j) => [id, queuedAt(times[j]![0], times[j]![1])]);
      staged += (await this.scripts.stageRescore(2, this.keys.urgency, staging, rate, this.keys.ticket(''), STAGING_TTL_MS, ...pairs)) as number;
    }
    return staged;
  }

  /**
   * Leases the waiting ticket with the highest effective priority to `agentId` (expired leases
   * go back first). Never hands one ticket to two callers: one script pops and leases.
   */
  async leaseNext(agentId: string): Promise<TicketResponse | null> {
    const now = Date.now();
    const flat = (await fenced(
      this.scripts.leaseNext(
        3,
        this.keys.urgency,
        this.keys.leases,
        this.keys.statusCounts,
        commandDeadline(this.redis, now),
        this.keys.ticket(''),
        agentId,
        now,
        this.policy.leaseTtlMs,
        RECLAIM_BATCH,
      ),
    )) as string[] | null;
    return flat === null ? null : toTicketResponse(pairsToObject(flat), { nowMs: now, slaWarnBeforeMs: this.policy.slaWarnBeforeMs });
  }

  /** Returns every expired lease to the queue → how many. */
  async reclaimExpiredLeases(nowMs = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const n = (await this.scripts.reclaim(3, this.keys.urgency, this.keys.leases, this.keys.statusCounts, this.keys.ticket(''), nowMs, RECLAIM_BATCH)) as number;
      total += n;
      if (n < RECLAIM_BATCH) return total;
    }
  }

  private holderKeys(ticketId: string): string[] {
    return [this.keys.ticket(ticketId), this.keys.urgency, this.keys.leases, this.keys.statusCounts];
  }

  private async holderOutcome(ticketId: string, reply: string[]): Promise<HolderOutcome> {
    if (reply[0] !== 'ok' && reply[0] !== 'already-done') return { ok: false, ...refusal(reply) };
    const ticket = await this.get(ticketId);
    // Only retention can delete a record between the script and this read.
    if (!ticket) return { ok: false, reason: 'missing' };
    return {
      ok: true,
      ticket,
      ...(reply[1] === undefined ? {} : { feedbackId: reply[1] }),
      ...(reply[0] === 'already-done' ? { alreadyDone: true } : {}),
    };
  }

  /** The holder is done with the ticket; acking again is a no-op for the same agent. */
  async ack(ticketId: string, agentId: string, correction?: CorrectionWrite): Promise<HolderOutcome> {
    const now = Date.now();
    const reply = (await this.scripts.ack(
      7,
      ...this.holderKeys(ticketId),
      this.keys.sla,
      this.keys.retention,
      this.keys.feedback,
      ticketId,
      agentId,
      now,
      now + this.policy.retentionMs,
      correction ? JSON.stringify(correction.correction) : '',
      ...(correction ? feedbackPairs(correction.entry) : []),
    )) as string[];
    return this.holderOutcome(ticketId, reply);
  }

  /** The holder gives the ticket back; it returns to the queue at its place. */
  async release(ticketId: string, agentId: string): Promise<HolderOutcome> {
    const reply = (await this.scripts.release(4, ...this.holderKeys(ticketId), ticketId, agentId, Date.now())) as string[];
    return this.holderOutcome(ticketId, reply);
  }

  /** The holder renews the lease for another lease TTL from now. */
  async extend(ticketId: string, agentId: string): Promise<HolderOutcome> {
    const reply = (await this.scripts.extend(4, ...this.holderKeys(ticketId), ticketId, agentId, Date.now(), this.policy.leaseTtlMs)) as string[];
    return this.holderOutcome(ticketId, reply);
  }

  /** Records a correction of a triaged ticket (processed, leased or done), whoever holds it. */
  async addCorrection(ticketId: string, write: CorrectionWrite): Promise<CorrectionOutcome> {
    const reply = (await this.scripts.correct(
      2,
      this.keys.ticket(ticketId),
      this.keys.feedback,
      JSON.stringify(write.correction),
      ...feedbackPairs(write.entry),
    )) as [string] | string | null;
    if (Array.isArray(reply)) return { ok: true, feedbackId: reply[0] };
    return { ok: false, status: (reply as TicketStatus | null) ?? null };
  }

  /** Deletes every record past its retention time (with its alert log and index entries) → how many. */
  async deleteExpiredRecords(nowMs = Date.now()): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [seen, n] = (await this.scripts.deleteExpired(
        5,
        this.keys.retention,
        this.keys.statusCounts,
        this.keys.urgency,
        this.keys.leases,
        this.keys.sla,
        this.keys.ticket(''),
        this.keys.alertLog(''),
        nowMs,
        RECLAIM_BATCH,
      )) as [number, number];
      deleted += n;
      if (seen < RECLAIM_BATCH) return deleted;
    }
  }

  /** Pending tickets last checked (or accepted) before `beforeMs`, oldest first. */
  async stalePending(beforeMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pending, '-inf', beforeMs, 'LIMIT', 0, limit);
  }

  /** Notes that a pending ticket was checked, so the reconciler looks at others first; XX: never re-adds a finished one. */
  async touchPending(ticketId: string, nowMs: number): Promise<void> {
    await this.redis.zadd(this.keys.pending, 'XX', nowMs, ticketId);
  }

  /** Drops a pending-index entry whose record is gone or no longer pending. */
  async forgetPending(ticketId: string): Promise<void> {
    await this.redis.zrem(this.keys.pending, ticketId);
  }

  /** Tickets whose SLA is due by `untilMs` and that may still raise an SLA alert. */
  async slaDueBy(untilMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.sla, '-inf', untilMs, 'LIMIT', 0, limit);
  }

  /** Which SLA alerts a ticket already raised (fields of its record). */
  async slaAlerted(ticketId: string): Promise<{ warning: boolean; breached: boolean }> {
    const [warning, breached] = await this.redis.hmget(this.keys.ticket(ticketId), 'sla_warning_at', 'sla_breached_at');
    return { warning: warning !== null, breached: breached !== null };
  }

  async markSlaAlerted(ticketId: string, phase: 'warning' | 'breached', nowMs = Date.now()): Promise<void> {
    await this.scripts.markSla(2, this.keys.ticket(ticketId), this.keys.sla, ticketId, phase, nowMs);
  }

  /** Stops SLA tracking of a ticket that can no longer breach while waiting (done, failed, gone). */
  async forgetSla(ticketId: string): Promise<void> {
    await this.redis.zrem(this.keys.sla, ticketId);
  }

  /** Drops corrections appended before `beforeMs` from the feedback stream → how many. */
  async trimFeedback(beforeMs: number): Promise<number> {
    return this.redis.xtrim(this.keys.feedback, 'MINID', `${Math.floor(beforeMs)}-0`);
  }

  async statusCounts(): Promise<StatusCountsResponse> {
    const [counts, waiting] = await Promise.all([
      this.redis.hmget(this.keys.statusCounts, 'pending', 'processing', 'processed', 'leased', 'done', 'failed'),
      this.redis.zcard(this.keys.urgency),
    ]);
    const [pending = 0, processing = 0, processed = 0, leased = 0, done = 0, failed = 0] = counts.map((c) => Number(c ?? 0));
    return { pending, processing, processed, leased, done, failed, waiting_for_agent: waiting };
  }

  /** Compare-and-extend: false when the lock expired (and may belong to another worker now). */
  async renewLock(ticketId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.renew(1, this.keys.ticketLock(ticketId), token, ttlMs)) === 1;
  }

  /** Compare-and-delete: never removes a lock that expired and was taken by another worker. */
  async releaseLock(ticketId: string, token: string): Promise<boolean> {
    return (await this.scripts.unlock(1, this.keys.ticketLock(ticketId), token)) === 1;
  }
}

/** A feedback entry as XADD field/value pairs (stream values are strings). */
function feedbackPairs(entry: FeedbackEntry): string[] {
  return toPairs({ ...entry });
}
