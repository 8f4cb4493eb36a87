import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import {
  errorMessage,
  type Logger,
  type TicketResponse,
  type StatsStore,
  type TicketStore,
  type TriageJobData,
  type TriageResult,
  ticketText,
  triageJobSchema,
} from '@triage/shared';
import { type ActionThresholds, actionFor } from '../action-policy';
import type { ServedPrediction } from '../inference/served-model';

export interface TriageProcessorDeps {
  store: TicketStore;
  predict: (text: string) => Promise<ServedPrediction>;
  thresholds: ActionThresholds;
  /**
   * Lifetime of the per-ticket lock; it is renewed every half of it while the job runs, like
   * BullMQ's job lock, so a killed worker's ticket is free again as soon as its job is.
   */
  lockTtlMs: number;
  /** How long a job waits before looking again when another worker holds its ticket. */
  lockBusyDelayMs: number;
  logger: Logger;
  /**
   * Runs after a ticket's result is stored — also when a retry finds it already stored, so
   * the hook must be idempotent (issue 4 enqueues alerts here with deterministic job ids).
   * `prediction` is passed only when this attempt ran the model (it has an embedding only when
   * the encoder, not the fallback, produced it).
   */
  onProcessed?: (ticket: TicketResponse, prediction?: ServedPrediction) => Promise<void>;
  /** Live statistics, drift and the review list; called once per stored result, never for retries. */
  stats?: Pick<StatsStore, 'recordProcessed'>;
}

export interface TriageJobResult {
  ticket_id: string;
  outcome: 'processed' | 'already-processed';
}


/** Whether BullMQ will give up on this job if the current attempt fails. */
function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export function createTriageProcessor(deps: TriageProcessorDeps) {
  const { store, logger } = deps;

  async function parseJob(job: Job): Promise<TriageJobData> {
    const parsed = triageJobSchema.safeParse(job.data);
    if (parsed.success) return parsed.data;
    const reason = `invalid triage job payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
    const ticketId = (job.data as { ticket_id?: unknown } | null)?.ticket_id;
    if (typeof ticketId === 'string') await markFailed(ticketId, reason);
    throw new UnrecoverableError(reason);
  }

  async function markFailed(ticketId: string, reason: string): Promise<void> {
    await store.transition(ticketId, ['pending', 'processing'], 'failed', { error: reason, failed_at: new Date().toISOString() });
  }

  /** `ticket` is the record as the commit stored it; without it (a retry's no-op) it is read. */
  async function finish(ticketId: string, outcome: TriageJobResult['outcome'], prediction?: ServedPrediction, ticket?: TicketResponse): Promise<TriageJobResult> {
    const stored = ticket ?? (await store.get(ticketId));
    if (stored && deps.onProcessed) await deps.onProcessed(stored, prediction);
    return { ticket_id: ticketId, outcome };
  }

  /** Statistics are best effort: a failure to count never fails a ticket that is already stored. */
  async function recordStats(data: TriageJobData, result: TriageResult, prediction: ServedPrediction): Promise<void> {
    const at = Date.parse(result.processed_at);
    const [first, second] = prediction.top3;
    await deps.stats
      ?.recordProcessed(
        data.ticket_id,
        {
          at,
          category: result.category,
          action: result.action,
          model_used: result.model_used,
          model_version: result.model_version,
          urgency: result.urgency_score,
          tokens: prediction.inputTokens,
          latency_ms: Math.max(0, at - Date.parse(data.accepted_at)),
        },
        (first?.probability ?? 0) - (second?.probability ?? 0),
      )
      .catch((err: unknown) => logger.warn('stats not recorded', { ticket_id: data.ticket_id, error: errorMessage(err) }));
  }

  /**
   * Runs with the ticket lock held and the ticket moved to processing. The commit gives the lock
   * back; `lock.held` tells the caller whether it still has to.
   */
  async function triage(data: TriageJobData, lockToken: string, lock: { held: boolean }): Promise<TriageJobResult> {
    const startedAt = Date.now();
    const inferenceStart = performance.now();
    const prediction = await deps.predict(ticketText(data.subject, data.body));
    const inferenceMs = performance.now() - inferenceStart;

    const result = {
      category: prediction.category,
      confidence: prediction.confidence,
      top3: prediction.top3,
      urgency_score: prediction.urgency,
      action: actionFor(prediction.confidence, deps.thresholds),
      model_version: prediction.modelVersion,
      model_used: prediction.modelUsed,
      processed_at: new Date().toISOString(),
      queue_ms: Math.max(0, startedAt - Date.parse(data.accepted_at)),
      inference_ms: Math.round(inferenceMs * 10) / 10,
    };
    const committed = await store.commitResult(data.ticket_id, lockToken, result, data.accepted_at);
    lock.held = false;
    if (committed.outcome !== 'committed') {
      if (committed.outcome === 'lock-lost') throw new Error(`lock on ticket ${data.ticket_id} expired during inference`);
      if (committed.outcome === 'missing') throw new UnrecoverableError(`ticket ${data.ticket_id} record disappeared`);
      return finish(data.ticket_id, 'already-processed', prediction);
    }
    await recordStats(data, result, prediction);
    return finish(data.ticket_id, 'processed', prediction, committed.ticket);
  }

  return async function processTriageJob(job: Job, token?: string): Promise<TriageJobResult> {
    const data = await parseJob(job);
    const log = logger.child({ ticket_id: data.ticket_id, job_id: job.id, request_id: data.request_id });
    const lockToken = randomUUID();

    const start = await store.startProcessing(data.ticket_id, lockToken, deps.lockTtlMs);
    if (start.outcome === 'locked') {
      // Another worker is on this ticket; look again later instead of doing the work twice.
      log.info('ticket locked by another worker, delaying job');
      await job.moveToDelayed(Date.now() + deps.lockBusyDelayMs, token);
      throw new DelayedError();
    }
    if (start.outcome === 'missing') throw new UnrecoverableError(`ticket ${data.ticket_id} has no record`);
    if (start.outcome === 'done') return finish(data.ticket_id, 'already-processed');

    const lock = { held: true };
    const renewal = setInterval(() => {
      store.renewLock(data.ticket_id, lockToken, deps.lockTtlMs).then(
        (held) => held || log.warn('ticket lock lost while processing; the commit will be refused'),
        (err: unknown) => log.warn('ticket lock renewal failed', { error: errorMessage(err) }),
      );
    }, deps.lockTtlMs / 2);
    try {
      const result = await triage(data, lockToken, lock);
      log.info('ticket triaged', { outcome: result.outcome });
      return result;
    } catch (err) {
      const final = err instanceof UnrecoverableError || isLastAttempt(job);
      log.warn('triage attempt failed', { error: errorMessage(err), attempt: job.attemptsMade + 1, final });
      if (final) await markFailed(data.ticket_id, errorMessage(err));
      throw err;
    } finally {
      clearInterval(renewal);
      if (lock.held) await store.releaseLock(data.ticket_id, lockToken).catch((err) => log.warn('lock release failed', { error: errorMessage(err) }));
    }
  };
}
