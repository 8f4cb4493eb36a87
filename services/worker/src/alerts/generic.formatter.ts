import { createHmac } from 'node:crypto';
import type { DriftAlert, TicketAlert } from '@triage/shared';
import { type IncidentView, type RenderContext, type SlaView, ticketUrl } from './alert-content';

export type GenericEvent =
  | { event: 'ticket.urgent'; ticket: TicketAlert; url: string | null }
  | { event: 'incident.opened' | 'incident.updated'; incident: IncidentView }
  | { event: 'sla.warning' | 'sla.breach'; due_at: string; ticket: TicketAlert; url: string | null }
  | { event: 'drift'; drift: DriftAlert };

export const SIGNATURE_HEADER = 'X-Triage-Signature';
export const TIMESTAMP_HEADER = 'X-Triage-Timestamp';

export function genericTicketEvent(ticket: TicketAlert, ctx: RenderContext): GenericEvent {
  return { event: 'ticket.urgent', ticket, url: ticketUrl(ctx, ticket.ticket_id) ?? null };
}

export function genericIncidentEvent(incident: IncidentView): GenericEvent {
  return { event: incident.phase === 'open' ? 'incident.opened' : 'incident.updated', incident };
}

export function genericSlaEvent(sla: SlaView, ctx: RenderContext): GenericEvent {
  const event = sla.phase === 'warning' ? 'sla.warning' : 'sla.breach';
  return { event, due_at: sla.due_at, ticket: sla.ticket, url: ticketUrl(ctx, sla.ticket.ticket_id) ?? null };
}

/**
 * Signs `timestamp + "." + body` (the exact bytes sent) so a receiver can check both integrity
 * and freshness; the timestamp is in the signed string, so it cannot be swapped to replay.
 */
export function signatureHeaders(body: string, secret: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { [SIGNATURE_HEADER]: `sha256=${digest}`, [TIMESTAMP_HEADER]: timestamp };
}
