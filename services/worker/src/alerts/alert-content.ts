import type { DriftAlert, TicketAlert } from '@triage/shared';

/** What a major-incident alert shows: a group of near-duplicate urgent tickets. */
export interface IncidentView {
  incident_id: string;
  phase: 'open' | 'update';
  count: number;
  first_at: string;
  last_at: string;
  /** The most recent members, newest first (the count covers all of them). */
  tickets: { ticket_id: string; label: string }[];
}

export interface RenderContext {
  /** Base of ticket links; no link without it. */
  publicUrl?: string | undefined;
}

/** An SLA alert: a ticket still waiting for an agent close to (warning) or past (breached) its due time. */
export interface SlaView {
  phase: 'warning' | 'breached';
  due_at: string;
  ticket: TicketAlert;
}

export type AlertContent =
  | { kind: 'ticket'; ticket: TicketAlert }
  | { kind: 'incident'; incident: IncidentView }
  | { kind: 'sla'; sla: SlaView }
  | { kind: 'drift'; drift: DriftAlert };

export const NO_SUBJECT = '(no subject)';

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function ticketUrl(ctx: RenderContext, ticketId: string): string | undefined {
  return ctx.publicUrl === undefined ? undefined : `${ctx.publicUrl.replace(/\/+$/, '')}/v2/tickets/${ticketId}`;
}

/** Ten cells, so 0.93 reads as "█████████░" in any client font. */
export function urgencyBar(score: number): string {
  const filled = Math.max(0, Math.min(10, Math.round(score * 10)));
  return `${'█'.repeat(filled)}${'░'.repeat(10 - filled)} ${score.toFixed(2)}`;
}

export const percent = (p: number) => `${Math.round(p * 100)}%`;

/** Discord embed colours: red for critical, orange for high, amber for the rest above threshold. */
export function urgencyColour(score: number): number {
  if (score >= 0.95) return 0xe01e5a;
  if (score >= 0.9) return 0xf2711c;
  return 0xfbbd08;
}

export const INCIDENT_COLOUR = 0x8b0000;

export function incidentTitle(incident: IncidentView): string {
  const prefix = incident.phase === 'open' ? 'Major incident' : 'Major incident update';
  return `${prefix}: ${incident.count} similar urgent tickets`;
}

export const SLA_COLOUR = 0x6f42c1;

export function slaTitle(sla: SlaView): string {
  const subject = sla.ticket.subject ?? NO_SUBJECT;
  return sla.phase === 'warning' ? `SLA at risk (due ${sla.due_at}): ${subject}` : `SLA breached (was due ${sla.due_at}): ${subject}`;
}

export const DRIFT_COLOUR = 0x1f6feb;

const SIGNAL_NAMES: Record<DriftAlert['signal'], string> = {
  predicted_queue: 'predicted queues',
  urgency: 'urgency scores',
  input_tokens: 'ticket lengths (tokens)',
};

export function driftTitle(drift: DriftAlert): string {
  return `Model drift: ${SIGNAL_NAMES[drift.signal]} PSI ${drift.psi.toFixed(2)} over the last ${drift.window}`;
}

/** "Billing and Payments 12% → 48%" per moved bin: what changed, in the reader's terms. */
export function driftBinLines(drift: DriftAlert): string[] {
  return drift.bins.map((b) => `${b.bin}: ${percent(b.reference)} → ${percent(b.current)}`);
}

export function driftSummary(drift: DriftAlert): string {
  return `${drift.n} tickets scored by model ${drift.model_version} no longer look like its training data (PSI ≥ 0.25: act). Check the inputs, then consider retraining on recent corrections.`;
}
