import type { AlertDestination } from './alert-destinations';
import type { AlertContent, RenderContext } from './alert-content';
import { discordIncidentMessage, discordTicketMessage } from './discord.formatter';
import { genericIncidentEvent, genericTicketEvent, signatureHeaders } from './generic.formatter';
import { slackIncidentMessage, slackTicketMessage } from './slack.formatter';

export interface WebhookRequest {
  method: 'POST' | 'PATCH';
  url: string;
  /** Serialised once: the generic signature covers these exact bytes. */
  body: string;
  headers: Record<string, string>;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

function discordRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext, messageId?: string): WebhookRequest {
  if (content.kind === 'ticket') {
    return { method: 'POST', url: dest.url, body: JSON.stringify(discordTicketMessage(content.ticket, ctx)), headers: JSON_HEADERS };
  }
  const body = JSON.stringify(discordIncidentMessage(content.incident, ctx));
  // Discord webhooks can edit their own messages, so an incident stays one message whose
  // count changes; `wait=true` makes the first post return the message id to edit.
  if (messageId !== undefined) {
    const u = new URL(dest.url);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/messages/${encodeURIComponent(messageId)}`;
    return { method: 'PATCH', url: u.toString(), body, headers: JSON_HEADERS };
  }
  return { method: 'POST', url: withQuery(dest.url, 'wait', 'true'), body, headers: JSON_HEADERS };
}

function genericRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext): WebhookRequest {
  const event = content.kind === 'ticket' ? genericTicketEvent(content.ticket, ctx) : genericIncidentEvent(content.incident);
  const body = JSON.stringify(event);
  if (dest.secret === undefined) throw new Error(`generic destination ${dest.id} has no secret`);
  return { method: 'POST', url: dest.url, body, headers: { ...JSON_HEADERS, ...signatureHeaders(body, dest.secret) } };
}

/** The HTTP request that carries `content` to `dest`; `discordMessageId` edits an incident post. */
export function buildWebhookRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext, discordMessageId?: string): WebhookRequest {
  switch (dest.type) {
    case 'slack': {
      const message = content.kind === 'ticket' ? slackTicketMessage(content.ticket, ctx) : slackIncidentMessage(content.incident, ctx);
      return { method: 'POST', url: dest.url, body: JSON.stringify(message), headers: JSON_HEADERS };
    }
    case 'discord':
      return discordRequest(dest, content, ctx, discordMessageId);
    case 'generic':
      return genericRequest(dest, content, ctx);
  }
}
