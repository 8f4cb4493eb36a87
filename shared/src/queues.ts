import type { JobsOptions } from 'bullmq';
import type { TicketResponse, TriageJobData } from './schemas';

/** Queue names. */
export const QueueName = {
  Tickets: 'tickets',
  /** On-demand explanations: the worker owns the encoder, the gateway waits for the answer. */
  Explain: 'explain',
  /** One repeatable job: lease expiry, SLA alerts, retention, orphaned pending tickets. */
  Maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * One alerts queue per destination: BullMQ's limiter is per queue (group keys are BullMQ Pro
 * only), and each webhook has its own rate limit, so a throttled Slack never holds up Discord.
 */
export const alertsQueueName = (destinationId: string) => `alerts-${destinationId}`;

/** Every BullMQ job name in the system; each has exactly one processor file. */
export enum JobName {
  Triage = 'triage',
  /** A ticket alert or a major-incident post/update for one destination. */
  Alert = 'alert',
  /** Evidence for one ticket's predicted queue and urgency (GET /v2/tickets/:id/explain). */
  Explain = 'explain',
  /** The periodic sweep (services/worker/src/maintenance). */
  Maintenance = 'maintenance',
}

/**
 * All Redis keys hang off one prefix so several deployments (or test files) can share a
 * Redis without seeing each other's data.
 */
export function redisKeys(prefix: string) {
  return {
    /** Passed to BullMQ as its `prefix`, so queue keys live under ours too. */
    bullPrefix: `${prefix}:bull`,
    ticket: (ticketId: string) => `${prefix}:ticket:${ticketId}`,
    ticketLock: (ticketId: string) => `${prefix}:lock:ticket:${ticketId}`,
    idempotency: (key: string) => `${prefix}:idempotency:${key}`,
    /**
     * ZSET ticket id → urgency − AGING_PER_HOUR × accepted-at in hours, of processed tickets nobody
     * holds. Since "now" is common to all, the highest entry has the highest effective priority.
     */
    urgency: `${prefix}:urgency`,
    /** ZSET ticket id → lease expiry (ms) of leased tickets. */
    leases: `${prefix}:leases`,
    /** ZSET ticket id → SLA due time (ms) of tickets that may still raise an SLA alert. */
    sla: `${prefix}:sla`,
    /** ZSET ticket id → time (ms) its record is deleted (processed, done and failed tickets). */
    retention: `${prefix}:retention`,
    /** ZSET ticket id → accepted time (ms) of pending tickets, for the orphan reconciler. */
    pending: `${prefix}:pending`,
    /** HASH status → number of tickets in it. */
    statusCounts: `${prefix}:status-counts`,
    /** SET of worker ids that have sent a heartbeat. */
    workers: `${prefix}:workers`,
    heartbeat: (workerId: string) => `${prefix}:heartbeat:${workerId}`,
    /** HASH destination id → JSON delivery log entry of one ticket's alerts. */
    alertLog: (ticketId: string) => `${prefix}:alerts:${ticketId}`,
    /** STREAM, capped: every delivery outcome of every alert, service-wide (GET /v2/alerts). */
    alertDeliveries: `${prefix}:alert-deliveries`,
    /** Near-duplicate grouping state of one destination (see the worker's storm-scripts). */
    storm: (destinationId: string) => `${prefix}:storm:${destinationId}`,
    /** ZSET ticket id → urgency_level·1e13 + arrival sequence: the synchronous /v1 queue. */
    v1Queue: `${prefix}:v1:queue`,
    /** HASH ticket id → JSON record of a ticket in the /v1 queue. */
    v1Tickets: `${prefix}:v1:tickets`,
    /** Counter giving /v1 tickets their arrival order (milliseconds can tie). */
    v1Sequence: `${prefix}:v1:seq`,
    /** HASH of one API key: name, scopes, secret hash, timestamps. */
    apiKey: (keyId: string) => `${prefix}:apikey:${keyId}`,
    /** SET of every API key id ever created (revoked ones stay, for the audit trail). */
    apiKeys: `${prefix}:apikeys`,
    /** Prefix of the rate limiter's counters (the limiter appends the scope and the client). */
    rateLimit: `${prefix}:ratelimit:`,
    /** STREAM of agents' corrections (issue 11 writes, the learning loop reads and exports). */
    feedback: `${prefix}:feedback`,
    /** HASH of counters of one minute ('m') or hour ('h') bucket: live stats and drift. */
    statsBucket: (resolution: 'm' | 'h', bucket: number) => `${prefix}:stats:${resolution}:${bucket}`,
    /** ZSETs of recent processed tickets: by top-2 margin (what to label first) and by time (trimming). */
    reviewByMargin: `${prefix}:review:margin`,
    reviewByTime: `${prefix}:review:at`,
    /** HASH signal → JSON alerting state of the drift monitor. */
    driftState: `${prefix}:drift:state`,
    /** HASH: the active model version and directory, and the previous one (rollback). */
    modelActive: `${prefix}:model:active`,
    /** Pub/sub channel announcing a change of the active model (workers also poll modelActive). */
    modelEvents: `${prefix}:model:events`,
    /** STRING, expiring: JSON of one comparison of a candidate with the active model (POST /v2/models/compare). */
    modelComparison: (id: string) => `${prefix}:model:comparison:${id}`,
    /** HASH "<candidate version>><active version>" → id of the latest finished comparison of the two (promotion checks it). */
    modelVerdicts: `${prefix}:model:verdicts`,
    /** HASH process id (worker or gateway) → JSON of its last model load: version, ok, error. */
    modelReports: `${prefix}:model:reports`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** The `triage` job of a stored ticket (the gateway on intake, the reconciler for orphans). */
export function triageJobData(ticket: Pick<TicketResponse, 'ticket_id' | 'subject' | 'body' | 'accepted_at'>, requestId?: string): TriageJobData {
  return {
    ticket_id: ticket.ticket_id,
    ...(ticket.subject === null ? {} : { subject: ticket.subject }),
    body: ticket.body,
    accepted_at: ticket.accepted_at,
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
}

/** Options of every `triage` job; its job id is always the ticket id, so adding one twice is a no-op. */
export function triageJobOptions(config: { JOB_ATTEMPTS: number; JOB_BACKOFF_MS: number }): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    // The ticket hash is the record of truth; finished jobs are only kept for inspection.
    removeOnComplete: { age: 3_600, count: 10_000 },
    removeOnFail: { age: 7 * 86_400 },
  };
}
