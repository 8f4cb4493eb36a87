import type { DriftAlert, TicketAlert } from '@triage/shared';
import { type IncidentView, NO_SUBJECT, driftBinLines, driftSummary, driftTitle, type RenderContext, type SlaView, incidentTitle, percent, slaTitle, ticketUrl, truncate, urgencyBar } from './alert-content';

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] };

/** An incoming-webhook payload: Block Kit blocks plus the `text` notifications and old clients show. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

// Slack limits: header text 150 chars, section text 3000, field text 2000.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;

/** Ticket text is untrusted: escaping &, <, > stops it from forming links or <!channel> pings. */
const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const mrkdwn = (text: string): TextObject => ({ type: 'mrkdwn', text });
const quote = (text: string) => text.split('\n').map((line) => `>${line}`).join('\n');

function linkLine(ctx: RenderContext, ticketId: string): string {
  const url = ticketUrl(ctx, ticketId);
  return url === undefined ? `Ticket \`${ticketId}\`` : `Ticket \`${ticketId}\` · <${url}|open ticket>`;
}

export function slackTicketMessage(ticket: TicketAlert, ctx: RenderContext): SlackMessage {
  const subject = ticket.subject ?? NO_SUBJECT;
  return {
    // `text` is mrkdwn too (notifications, old clients): the customer's subject must not ping or link.
    text: `Urgent ticket (urgency ${ticket.urgency_score.toFixed(2)}, ${escapeMrkdwn(ticket.category)}): ${escapeMrkdwn(subject)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`Urgent: ${subject}`, HEADER_MAX), emoji: true } },
      {
        type: 'section',
        fields: [
          mrkdwn(`*Queue*\n${escapeMrkdwn(ticket.category)}`),
          mrkdwn(`*Urgency*\n\`${urgencyBar(ticket.urgency_score)}\``),
          mrkdwn(`*Confidence*\n${percent(ticket.confidence)}`),
          mrkdwn(`*Action*\n${ticket.action}`),
        ],
      },
      { type: 'section', text: mrkdwn(truncate(quote(escapeMrkdwn(ticket.excerpt)), SECTION_MAX)) },
      { type: 'context', elements: [mrkdwn(linkLine(ctx, ticket.ticket_id))] },
    ],
  };
}

export function slackIncidentMessage(incident: IncidentView, ctx: RenderContext): SlackMessage {
  const title = incidentTitle(incident);
  const lines = incident.tickets.map((t) => {
    const url = ticketUrl(ctx, t.ticket_id);
    const label = escapeMrkdwn(truncate(t.label, 120));
    return url === undefined ? `• ${label} (\`${t.ticket_id}\`)` : `• <${url}|${label}>`;
  });
  const more = incident.count > incident.tickets.length ? `\n…and ${incident.count - incident.tickets.length} more` : '';
  return {
    text: `${title} (${incident.first_at} – ${incident.last_at})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: true } },
      { type: 'section', text: mrkdwn(truncate(`${lines.join('\n')}${more}`, SECTION_MAX)) },
      { type: 'context', elements: [mrkdwn(`Incident \`${incident.incident_id}\` · first ${incident.first_at} · last ${incident.last_at}`)] },
    ],
  };
}

export function slackSlaMessage(sla: SlaView, ctx: RenderContext): SlackMessage {
  const title = slaTitle(sla);
  return {
    text: `${escapeMrkdwn(title)} (${escapeMrkdwn(sla.ticket.category)}, urgency ${sla.ticket.urgency_score.toFixed(2)}), still waiting for an agent`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: true } },
      {
        type: 'section',
        fields: [
          mrkdwn(`*Queue*\n${escapeMrkdwn(sla.ticket.category)}`),
          mrkdwn(`*Urgency*\n\`${urgencyBar(sla.ticket.urgency_score)}\``),
          mrkdwn(`*Due*\n${sla.due_at}`),
          mrkdwn(`*Status*\nwaiting for an agent`),
        ],
      },
      { type: 'section', text: mrkdwn(truncate(quote(escapeMrkdwn(sla.ticket.excerpt)), SECTION_MAX)) },
      { type: 'context', elements: [mrkdwn(linkLine(ctx, sla.ticket.ticket_id))] },
    ],
  };
}

export function slackDriftMessage(drift: DriftAlert): SlackMessage {
  const title = driftTitle(drift);
  const moved = driftBinLines(drift).map((line) => `• ${escapeMrkdwn(line)}`).join('\n');
  return {
    text: `${escapeMrkdwn(title)} (model ${escapeMrkdwn(drift.model_version)}, ${drift.n} tickets)`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: true } },
      { type: 'section', text: mrkdwn(escapeMrkdwn(driftSummary(drift))) },
      ...(moved ? [{ type: 'section' as const, text: mrkdwn(truncate(`*Moved most (training → now)*\n${moved}`, SECTION_MAX)) }] : []),
      { type: 'context', elements: [mrkdwn(`Signal \`${drift.signal}\` · PSI ${drift.psi.toFixed(3)} · detected ${drift.detected_at}`)] },
    ],
  };
}
