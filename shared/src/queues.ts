/** Queue names. Issue 4 adds `alerts`. */
export const QueueName = {
  Tickets: 'tickets',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Every BullMQ job name in the system; each has exactly one processor file. */
export enum JobName {
  Triage = 'triage',
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
    /** ZSET ticket id → urgency score of processed tickets nobody has taken yet. */
    urgency: `${prefix}:urgency`,
    /** HASH status → number of tickets in it. */
    statusCounts: `${prefix}:status-counts`,
    /** SET of worker ids that have sent a heartbeat. */
    workers: `${prefix}:workers`,
    heartbeat: (workerId: string) => `${prefix}:heartbeat:${workerId}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
