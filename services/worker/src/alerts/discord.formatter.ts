import type { DriftAlert, TicketAlert } from '@triage/shared';
import {
  DRIFT_COLOUR,
  INCIDENT_COLOUR,
  driftBinLines,
  driftSummary,
  driftTitle,
  SLA_COLOUR,
  type SlaView,
  slaTitle,
  type IncidentView,
  NO_SUBJECT,
  type RenderContext,
  incidentTitle,
  percent,
  ticketUrl,
  truncate,
  urgencyBar,
  urgencyColour,
} from './alert-content';

export interface DiscordEmbed {
  title: string;
  description: string;
  url?: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  timestamp?: string;
  footer: { text: string };
}

export interface DiscordMessage {
  embeds: DiscordEmbed[];
  /** Ticket text is untrusted: no @everyone / role pings from a customer's words. */
  allowed_mentions: { parse: never[] };
}

// Discord limits: title 256, description 4096, field value 1024.
const TITLE_MAX = 256;
const DESCRIPTION_MAX = 4096;
const FIELD_MAX = 1024;

/**
 * Ticket text is untrusted: a backslash before every markdown character keeps a customer's
 * `[click](https://evil)` from becoming a masked link (and `**`/`||` from styling the alert).
 */
export const escapeDiscordMarkdown = (text: string) => text.replace(/[\\`*_~|[\]()<>@]/g, '\\$&');

const field = (name: string, value: string, inline = true) => ({ name, value: truncate(value, FIELD_MAX), inline });

export function discordTicketMessage(ticket: TicketAlert, ctx: RenderContext): DiscordMessage {
  const url = ticketUrl(ctx, ticket.ticket_id);
  return {
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(`Urgent: ${ticket.subject ?? NO_SUBJECT}`, TITLE_MAX),
        description: truncate(escapeDiscordMarkdown(ticket.excerpt), DESCRIPTION_MAX),
        ...(url === undefined ? {} : { url }),
        color: urgencyColour(ticket.urgency_score),
        fields: [
          field('Queue', ticket.category),
          field('Urgency', `\`${urgencyBar(ticket.urgency_score)}\``),
          field('Confidence', percent(ticket.confidence)),
          field('Action', ticket.action),
          field('Ticket', `\`${ticket.ticket_id}\``, false),
        ],
        ...(ticket.processed_at === null ? {} : { timestamp: ticket.processed_at }),
        footer: { text: 'Triage' },
      },
    ],
  };
}

export function discordIncidentMessage(incident: IncidentView, ctx: RenderContext): DiscordMessage {
  const lines = incident.tickets.map((t) => {
    const url = ticketUrl(ctx, t.ticket_id);
    const label = escapeDiscordMarkdown(truncate(t.label, 120));
    return url === undefined ? `• ${label} (\`${t.ticket_id}\`)` : `• [${label}](${url})`;
  });
  const more = incident.count > incident.tickets.length ? `\n…and ${incident.count - incident.tickets.length} more` : '';
  return {
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(incidentTitle(incident), TITLE_MAX),
        description: truncate(`${lines.join('\n')}${more}`, DESCRIPTION_MAX),
        color: INCIDENT_COLOUR,
        fields: [
          field('Tickets', String(incident.count)),
          field('First seen', incident.first_at),
          field('Last seen', incident.last_at),
          field('Incident', `\`${incident.incident_id}\``, false),
        ],
        timestamp: incident.last_at,
        footer: { text: 'Triage' },
      },
    ],
  };
}

export function discordSlaMessage(sla: SlaView, ctx: RenderContext): DiscordMessage {
  const url = ticketUrl(ctx, sla.ticket.ticket_id);
  return {
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(slaTitle(sla), TITLE_MAX),
        description: truncate(escapeDiscordMarkdown(sla.ticket.excerpt), DESCRIPTION_MAX),
        ...(url === undefined ? {} : { url }),
        color: SLA_COLOUR,
        fields: [
          field('Queue', sla.ticket.category),
          field('Urgency', `\`${urgencyBar(sla.ticket.urgency_score)}\``),
          field('Due', sla.due_at),
          field('Ticket', `\`${sla.ticket.ticket_id}\``, false),
        ],
        timestamp: sla.due_at,
        footer: { text: 'Triage' },
      },
    ],
  };
}

export function discordDriftMessage(drift: DriftAlert): DiscordMessage {
  return {
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(driftTitle(drift), TITLE_MAX),
        description: truncate(escapeDiscordMarkdown(driftSummary(drift)), DESCRIPTION_MAX),
        color: DRIFT_COLOUR,
        fields: [
          field('Signal', drift.signal),
          field('PSI', drift.psi.toFixed(3)),
          field('Tickets', String(drift.n)),
          field('Moved most (training → now)', escapeDiscordMarkdown(driftBinLines(drift).join('\n')) || '—', false),
          field('Model', `\`${drift.model_version}\``, false),
        ],
        timestamp: drift.detected_at,
        footer: { text: 'Triage' },
      },
    ],
  };
}
