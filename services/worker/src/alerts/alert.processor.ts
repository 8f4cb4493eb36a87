import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { type AlertJobData, type AlertLog, type Logger, alertJobSchema, alertLogKindOf } from '@triage/shared';
import type { AlertDestination } from './alert-destinations';
import type { AlertContent, RenderContext } from './alert-content';
import type { Redactor } from './redact';
import type { StormStore } from './storm-store';
import { type DeliveryOutcome, type WebhookHttp, sendWebhook } from './webhook-delivery';
import { type WebhookRequest, buildWebhookRequest } from './webhook-request';

export interface AlertProcessorDeps {
  destinations: ReadonlyMap<string, AlertDestination>;
  log: AlertLog;
  storm: StormStore;
  http: WebhookHttp;
  timeoutMs: number;
  render: RenderContext;
  /** How long an incident update waits for the incident's first post to go out. */
  incidentUpdateMs: number;
  /** BullMQ's manual rate limit on the destination's queue (queue.rateLimit). */
  rateLimit: (destinationId: string, ms: number) => Promise<void>;
  redact: Redactor;
  logger: Logger;
}

export type AlertJobResult =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'already-delivered' | 'unchanged' | 'expired' };

type TicketJob = Extract<AlertJobData, { kind: 'ticket' }>;
type IncidentJob = Extract<AlertJobData, { kind: 'incident' }>;
type SlaJob = Extract<AlertJobData, { kind: 'sla.breach' }>;
type DriftJob = Extract<AlertJobData, { kind: 'drift' }>;

const isLastAttempt = (job: Job) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
/** Whether a failed send ends the alert (a 429 only pauses the queue and spends no attempt). */
const isFinal = (job: Job, outcome: Exclude<DeliveryOutcome, { kind: 'delivered' }>) => outcome.kind === 'permanent' || (outcome.kind === 'retryable' && isLastAttempt(job));

function parseJob(job: Job): AlertJobData {
  const parsed = alertJobSchema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new UnrecoverableError(`invalid alert job payload: ${issues}`);
}

export function createAlertProcessor(deps: AlertProcessorDeps) {
  const { log, storm, redact } = deps;

  function destinationOf(data: AlertJobData): AlertDestination {
    const dest = deps.destinations.get(data.destination_id);
    // Destinations come from this worker's configuration only; an unknown id is never a URL.
    if (!dest) throw new UnrecoverableError(`alert destination "${data.destination_id}" is not configured on this worker`);
    return dest;
  }

  /**
   * Turns a non-delivered outcome into what BullMQ should do. A 429 pauses the whole queue
   * for the receiver's Retry-After and puts the job back without spending an attempt.
   */
  async function raise(dest: AlertDestination, outcome: Exclude<DeliveryOutcome, { kind: 'delivered' }>): Promise<never> {
    const reason = redact(outcome.reason);
    if (outcome.kind === 'rate-limited') {
      await deps.rateLimit(dest.id, outcome.retryAfterMs);
      throw Worker.RateLimitError();
    }
    if (outcome.kind === 'permanent') throw new UnrecoverableError(reason);
    throw new Error(reason);
  }

  const send = (request: WebhookRequest) => sendWebhook(deps.http, request, deps.timeoutMs);

  /** An alert about one ticket (urgent, or an SLA warning/breach), logged per destination and kind. */
  async function processTicket(job: Job, data: TicketJob | SlaJob, dest: AlertDestination): Promise<AlertJobResult> {
    const ticketId = data.ticket.ticket_id;
    const kind = alertLogKindOf(data)!;
    const content: AlertContent =
      data.kind === 'ticket' ? { kind: 'ticket', ticket: data.ticket } : { kind: 'sla', sla: { phase: data.phase, due_at: data.due_at, ticket: data.ticket } };
    const entry = await log.get(ticketId, dest.id, kind);
    // The log, not the job, is the record of delivery: it survives job removal and re-adds.
    if (entry?.status === 'delivered') return { outcome: 'already-delivered' };

    // Counted before sending: a worker that dies mid-request has still made the attempt, and the
    // receiver may have the message (the delivery id lets it drop the resend).
    const attempts = (entry?.attempts ?? 0) + 1;
    await log.update(ticketId, dest.id, { attempts }, kind);
    const outcome = await send(buildWebhookRequest(dest, content, deps.render));
    if (outcome.kind === 'delivered') {
      await log.update(ticketId, dest.id, { status: 'delivered', attempts, last_error: null, delivered_at: new Date().toISOString() }, kind);
      return { outcome: 'delivered', status: outcome.status };
    }
    await log.update(ticketId, dest.id, { status: isFinal(job, outcome) ? 'failed' : 'retrying', attempts, last_error: redact(outcome.reason) }, kind);
    return raise(dest, outcome);
  }

  async function processIncident(job: Job, token: string | undefined, data: IncidentJob, dest: AlertDestination): Promise<AlertJobResult> {
    const [view, delivery] = await Promise.all([storm.view(dest.id, data.incident_id, data.phase), storm.delivery(dest.id, data.incident_id)]);
    if (!view) return { outcome: 'expired' };
    if (data.phase === 'open' && delivery.sentCount !== null) return { outcome: 'already-delivered' };
    if (data.phase === 'update') {
      if (delivery.sentCount === null) {
        // The first post has not gone out yet; it will carry the count it finds, but look
        // again afterwards in case more tickets join after it reads.
        await job.moveToDelayed(Date.now() + deps.incidentUpdateMs, token);
        throw new DelayedError();
      }
      if (view.count === delivery.sentCount) return { outcome: 'unchanged' };
    }

    const editId = data.phase === 'update' && dest.type === 'discord' ? (delivery.messageId ?? undefined) : undefined;
    const request = buildWebhookRequest(dest, { kind: 'incident', incident: view }, deps.render, editId);
    const outcome = await send(request);
    const line = { at: new Date().toISOString(), kind: 'incident', ticket_id: null, incident_id: data.incident_id, destination: dest.id, type: dest.type, attempts: job.attemptsMade + 1 } as const;
    if (outcome.kind !== 'delivered') {
      await log.record({ ...line, outcome: isFinal(job, outcome) ? 'failed' : 'retrying', error: redact(outcome.reason) });
      return raise(dest, outcome);
    }
    await storm.recordDelivery(dest.id, data.incident_id, view.count, dest.type === 'discord' ? (editId ?? messageIdOf(outcome.body)) : undefined);
    await log.record({ ...line, outcome: 'delivered', error: null });
    return { outcome: 'delivered', status: outcome.status };
  }

  /**
   * A drift alert concerns no ticket, so it has no per-ticket log entry, only lines in the
   * service-wide log; the job (one per signal episode and destination, see the drift alarm) is
   * its record, and its delivery id lets a receiver drop the resend of a worker that died mid-request.
   */
  async function processDrift(job: Job, data: DriftJob, dest: AlertDestination): Promise<AlertJobResult> {
    const outcome = await send(buildWebhookRequest(dest, { kind: 'drift', drift: data.drift }, deps.render));
    const line = { at: new Date().toISOString(), kind: 'drift', ticket_id: null, incident_id: null, destination: dest.id, type: dest.type, attempts: job.attemptsMade + 1 } as const;
    if (outcome.kind !== 'delivered') {
      await log.record({ ...line, outcome: isFinal(job, outcome) ? 'failed' : 'retrying', error: redact(outcome.reason) });
      return raise(dest, outcome);
    }
    await log.record({ ...line, outcome: 'delivered', error: null });
    return { outcome: 'delivered', status: outcome.status };
  }

  function process(job: Job, token: string | undefined, data: AlertJobData, dest: AlertDestination): Promise<AlertJobResult> {
    switch (data.kind) {
      case 'incident':
        return processIncident(job, token, data, dest);
      case 'drift':
        return processDrift(job, data, dest);
      default:
        return processTicket(job, data, dest);
    }
  }

  return async function processAlertJob(job: Job, token?: string): Promise<AlertJobResult> {
    const data = parseJob(job);
    const dest = destinationOf(data);
    const result = await process(job, token, data, dest);
    deps.logger.info('alert job done', { job_id: job.id, destination: dest.id, kind: data.kind, ...result });
    return result;
  };
}

/** Discord answers `?wait=true` posts with the created message; its id is what later edits target. */
function messageIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' && /^\d{1,30}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
