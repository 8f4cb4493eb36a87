import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import {
  ALERT_EXCERPT_CHARS,
  type AlertJobData,
  type AlertLog,
  type DriftAlert,
  JobName,
  type Logger,
  type TicketAlert,
  type TicketResponse,
} from '@triage/shared';
import type { AlertDestination } from './alert-destinations';
import { truncate } from './alert-content';
import type { StormAssignment, StormStore } from './storm-store';

export interface AlertEnqueuerDeps {
  destinations: readonly AlertDestination[];
  queues: ReadonlyMap<string, Queue<AlertJobData>>;
  log: AlertLog;
  storm: StormStore;
  attempts: number;
  backoffMs: number;
  stormSettleMs: number;
  stormUpdateMs: number;
  /** The served model's alert_threshold, for destinations without a threshold of their own. */
  modelThreshold: () => number;
  logger: Logger;
}

const DAY_S = 86_400;
const LABEL_CHARS = 80;

/** The snapshot an alert shows; null for tickets without a result (nothing to alert on). */
function toTicketAlert(ticket: TicketResponse): TicketAlert | null {
  const { category, confidence, urgency_score: urgency, action } = ticket;
  if (category === null || confidence === null || urgency === null || action === null) return null;
  return {
    ticket_id: ticket.ticket_id,
    subject: ticket.subject,
    excerpt: truncate(ticket.body, ALERT_EXCERPT_CHARS),
    category,
    confidence,
    urgency_score: urgency,
    action,
    processed_at: ticket.processed_at,
  };
}

function wantsAlert(dest: AlertDestination, ticket: TicketAlert, modelThreshold: number): boolean {
  return ticket.urgency_score > (dest.threshold ?? modelThreshold) && (dest.queues === null || dest.queues.includes(ticket.category));
}

/** Shared by every alert job: retries with jittered backoff, kept long enough for job-id dedupe. */
function alertJobOptions(attempts: number, backoffMs: number): JobsOptions {
  return {
    attempts,
    // Jitter spreads the retries of a burst so a recovering receiver is not hit all at once.
    backoff: { type: 'exponential', delay: backoffMs, jitter: 0.5 },
    // Completed jobs are kept a week so a re-add with the same id stays a no-op; after that
    // the delivery log still stops a second send.
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  };
}

/**
 * The triage worker's `onProcessed` hook: one alert job per destination whose threshold and
 * queue filter the ticket passes. It runs again whenever a triage job is retried or
 * reprocessed, so every step is idempotent: the job id is ticket + destination, the log entry
 * is created only once, and storm assignment returns its first answer.
 */
export function createAlertEnqueuer(deps: AlertEnqueuerDeps) {
  const jobOptions = alertJobOptions(deps.attempts, deps.backoffMs);

  async function enqueue(dest: AlertDestination, ticket: TicketAlert, storm: StormAssignment | null): Promise<void> {
    const queue = deps.queues.get(dest.id)!;
    if (storm === null || storm.decision === 'single') {
      await deps.log.open(ticket.ticket_id, dest.id, dest.type, { status: 'queued' });
      await queue.add(JobName.Alert, { kind: 'ticket', destination_id: dest.id, ticket }, { ...jobOptions, jobId: `${ticket.ticket_id}.${dest.id}` });
      return;
    }
    await deps.log.open(ticket.ticket_id, dest.id, dest.type, { status: 'grouped', incidentId: storm.incidentId });
    const data: AlertJobData = { kind: 'incident', destination_id: dest.id, incident_id: storm.incidentId, phase: storm.decision === 'open' ? 'open' : 'update' };
    if (storm.decision === 'open') {
      // The settle delay lets the first post count the burst instead of announcing "11".
      await queue.add(JobName.Alert, data, { ...jobOptions, jobId: `incident.${storm.incidentId}.${dest.id}`, delay: deps.stormSettleMs });
    } else {
      // While an update is pending, further tickets add nothing: it reads the count when it runs.
      await queue.add(JobName.Alert, data, { ...jobOptions, delay: deps.stormUpdateMs, deduplication: { id: `incident-update.${storm.incidentId}.${dest.id}` } });
    }
  }

  return async function enqueueAlerts(ticket: TicketResponse, prediction?: { embedding?: readonly number[] }): Promise<void> {
    const alert = toTicketAlert(ticket);
    if (alert === null) return;
    const label = truncate(alert.subject ?? alert.excerpt, LABEL_CHARS);
    const modelThreshold = deps.modelThreshold();
    for (const dest of deps.destinations.filter((d) => wantsAlert(d, alert, modelThreshold))) {
      // Without an embedding (a retry that found the result already stored, or a result of the
      // n-gram fallback) the ticket cannot be compared, so it alerts on its own rather than not at all.
      const embedding = prediction?.embedding;
      const storm = embedding?.length ? await deps.storm.assign(dest.id, alert.ticket_id, embedding, label, randomUUID()) : null;
      await enqueue(dest, alert, storm);
      deps.logger.info('alert enqueued', { ticket_id: alert.ticket_id, destination: dest.id, storm: storm?.decision ?? 'single' });
    }
  };
}

export type SlaAlertDeps = Pick<AlertEnqueuerDeps, 'destinations' | 'queues' | 'log' | 'attempts' | 'backoffMs' | 'logger'>;

/**
 * SLA alerts for the maintenance sweep: one job per destination whose queue filter the ticket
 * passes (no urgency threshold: a low ticket left waiting is the point). The job id is ticket +
 * phase + destination, so a sweep that runs twice, or on two workers, sends once.
 */
export function createSlaAlertEnqueuer(deps: SlaAlertDeps) {
  const jobOptions = alertJobOptions(deps.attempts, deps.backoffMs);
  return async function enqueueSlaAlert(ticket: TicketResponse, phase: 'warning' | 'breached', dueAt: string): Promise<void> {
    const alert = toTicketAlert(ticket);
    if (alert === null) return;
    const kind = phase === 'warning' ? 'sla.warning' : 'sla.breach';
    for (const dest of deps.destinations.filter((d) => d.queues === null || d.queues.includes(alert.category))) {
      await deps.log.open(alert.ticket_id, dest.id, dest.type, { status: 'queued' }, kind);
      const data: AlertJobData = { kind: 'sla.breach', destination_id: dest.id, phase, due_at: dueAt, ticket: alert };
      await deps.queues.get(dest.id)!.add(JobName.Alert, data, { ...jobOptions, jobId: `${alert.ticket_id}.sla-${phase}.${dest.id}` });
      deps.logger.info('sla alert enqueued', { ticket_id: alert.ticket_id, destination: dest.id, phase });
    }
  };
}

/**
 * Drift alerts for the maintenance sweep: one job per destination (drift concerns the model, not
 * one queue, so queue filters do not apply). The job id is signal + episode + destination: the
 * sweep may repeat an enqueue it is unsure of, and BullMQ keeps the first.
 */
export function createDriftAlertEnqueuer(deps: Pick<AlertEnqueuerDeps, 'destinations' | 'queues' | 'attempts' | 'backoffMs' | 'logger'>) {
  const jobOptions = alertJobOptions(deps.attempts, deps.backoffMs);
  return async function enqueueDriftAlert(drift: DriftAlert): Promise<void> {
    for (const dest of deps.destinations) {
      const data: AlertJobData = { kind: 'drift', destination_id: dest.id, drift };
      await deps.queues.get(dest.id)!.add(JobName.Alert, data, { ...jobOptions, jobId: `drift.${drift.signal}.${drift.episode}.${dest.id}` });
      deps.logger.info('drift alert enqueued', { destination: dest.id, signal: drift.signal, psi: drift.psi, episode: drift.episode });
    }
  };
}
