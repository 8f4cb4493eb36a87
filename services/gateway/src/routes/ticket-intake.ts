import { type Idempotency, JobName, type Principal, type TriageJobData } from '@triage/shared';

/** A ticket's triage job; the job id is the ticket id, so adding the same ticket twice is a no-op in BullMQ. */
export const triageJob = (data: TriageJobData) => ({ name: JobName.Triage, data, opts: { jobId: data.ticket_id } });

/** An Idempotency-Key belongs to its sender: the same key from two principals makes two tickets. */
export const idempotencyFor = (principal: Principal, key: string | undefined, ttlSeconds: number): Idempotency | undefined =>
  key === undefined ? undefined : { key: `${principal.id}:${key}`, ttlSeconds };
