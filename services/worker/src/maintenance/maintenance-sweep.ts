import type { Queue } from 'bullmq';
import { DAY_MS, JobName, type Logger, type StatsStore, type TicketStore, type TriageJobData, triageJobData, triageJobOptions } from '@triage/shared';
import type { AlertsRuntime } from '../alerts/alerts-runtime';
import type { DriftAlarm } from './drift-alarm';

export interface MaintenanceDeps {
  store: TicketStore;
  stats: Pick<StatsStore, 'recordSlaBreach'>;
  ticketsQueue: Queue<TriageJobData>;
  onSla: AlertsRuntime['onSla'];
  drift: Pick<DriftAlarm, 'check'>;
  logger: Logger;
  settings: {
    slaWarnBeforeMs: number;
    pendingReconcileAfterMs: number;
    feedbackRetentionDays: number;
    jobAttempts: number;
    jobBackoffMs: number;
  };
}

export interface SweepReport {
  queue_rescored: number;
  leases_expired: number;
  records_deleted: number;
  orphans_requeued: number;
  sla_alerts: number;
  feedback_trimmed: number;
  drift_alerts: number;
}

/** Candidates looked at per sweep; the rest wait for the next one (the interval is seconds). */
const BATCH = 500;

/**
 * One pass of the periodic upkeep: the agents' queue rescored when it was scored with another
 * AGING_PER_HOUR than this worker's (so a new rate takes effect with no ticket arriving), expired
 * leases back into the queue, SLA alerts for tickets still waiting near or past their due time,
 * records past retention deleted, pending tickets whose job never reached BullMQ re-enqueued, old
 * corrections trimmed, a `drift` alert when the model's inputs or outputs moved away from its
 * training data. Every step is idempotent, so two workers sweeping at once (or a sweep repeated
 * after a crash) change nothing twice.
 */
export function createMaintenanceSweep(deps: MaintenanceDeps) {
  const { store, logger, settings } = deps;
  const jobOptions = triageJobOptions({ JOB_ATTEMPTS: settings.jobAttempts, JOB_BACKOFF_MS: settings.jobBackoffMs });

  /** A pending ticket with no job: the gateway died between storing it and enqueueing it. */
  async function reconcilePending(nowMs: number): Promise<number> {
    let requeued = 0;
    for (const ticketId of await store.stalePending(nowMs - settings.pendingReconcileAfterMs, BATCH)) {
      const ticket = await store.get(ticketId);
      if (!ticket || ticket.status !== 'pending') {
        await store.forgetPending(ticketId);
        continue;
      }
      if (!(await deps.ticketsQueue.getJob(ticketId))) {
        // Job id = ticket id: if the gateway's own enqueue lands after all, this add is a no-op.
        await deps.ticketsQueue.add(JobName.Triage, triageJobData(ticket), { ...jobOptions, jobId: ticketId });
        logger.warn('orphaned pending ticket re-enqueued', { ticket_id: ticketId, accepted_at: ticket.accepted_at });
        requeued += 1;
      }
      await store.touchPending(ticketId, nowMs);
    }
    return requeued;
  }

  /** Tickets waiting for an agent within SLA_WARN_BEFORE_MS of due (warning) or past it (breached). */
  async function raiseSlaAlerts(nowMs: number): Promise<number> {
    let raised = 0;
    for (const ticketId of await store.slaDueBy(nowMs + settings.slaWarnBeforeMs, BATCH)) {
      const ticket = await store.get(ticketId);
      if (!ticket || ticket.sla === null || ticket.status === 'done' || ticket.status === 'failed') {
        await store.forgetSla(ticketId);
        continue;
      }
      // Leased: an agent has it now. If it comes back unanswered, the next sweep sees it again.
      if (ticket.status !== 'processed') continue;
      const phase = nowMs >= Date.parse(ticket.sla.due_at) ? 'breached' : 'warning';
      const alerted = await store.slaAlerted(ticketId);
      if (alerted[phase]) continue;
      // Enqueue before marking: the alert job id dedupes a repeat, so a crash in between cannot lose the alert.
      await deps.onSla(ticket, phase, ticket.sla.due_at);
      await store.markSlaAlerted(ticketId, phase, nowMs);
      // /v2/stats counts the breach once per ticket (a lease after due may have counted it already).
      if (phase === 'breached') await deps.stats.recordSlaBreach(ticketId, Date.parse(ticket.sla.due_at));
      logger.info('sla alert raised', { ticket_id: ticketId, phase, due_at: ticket.sla.due_at });
      raised += 1;
    }
    return raised;
  }

  return async function sweep(nowMs = Date.now()): Promise<SweepReport> {
    const report: SweepReport = {
      queue_rescored: await store.rescoreQueue(),
      leases_expired: await store.reclaimExpiredLeases(nowMs),
      sla_alerts: await raiseSlaAlerts(nowMs),
      records_deleted: await store.deleteExpiredRecords(nowMs),
      orphans_requeued: await reconcilePending(nowMs),
      feedback_trimmed: await store.trimFeedback(nowMs - settings.feedbackRetentionDays * DAY_MS),
      drift_alerts: await deps.drift.check(nowMs),
    };
    if (Object.values(report).some((n) => n > 0)) logger.info('maintenance sweep', { ...report });
    return report;
  };
}
