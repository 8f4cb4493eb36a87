import { createHash } from 'node:crypto';
import type { AlertDestination } from './alert-destinations';
import type { AlertContent, RenderContext } from './alert-content';
import { discordDriftMessage, discordIncidentMessage, discordSlaMessage, discordTicketMessage } from './discord.formatter';
import { type GenericEvent, genericIncidentEvent, genericSlaEvent, genericTicketEvent, signatureHeaders } from './generic.formatter';
import { type SlackMessage, slackDriftMessage, slackIncidentMessage, slackSlaMessage, slackTicketMessage } from './slack.formatter';

export interface WebhookRequest {
  method: 'POST' | 'PATCH';
  url: string;
  /** Serialised once: the generic signature covers these exact bytes. */
  body: string;
  headers: Record<string, string>;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** Header carrying deliveryId() to generic receivers (also in the signed body as `delivery_id`). */
export const DELIVERY_ID_HEADER = 'X-Triage-Delivery-Id';

/**
 * The same for every attempt at one message, so a receiver can drop a redelivery: a worker that
 * dies after sending but before recording it sends again (at-least-once). An incident's first
 * post has one id; each update is identified by the count it reports.
 */
export function deliveryId(dest: Pick<AlertDestination, 'id'>, content: AlertContent): string {
  if (content.kind === 'ticket') return `${content.ticket.ticket_id}.${dest.id}`;
  if (content.kind === 'sla') return `${content.sla.ticket.ticket_id}.${dest.id}.sla-${content.sla.phase}`;
  if (content.kind === 'drift') return `drift.${content.drift.signal}.${content.drift.episode}.${dest.id}`;
  const { incident } = content;
  return `${incident.incident_id}.${dest.id}.${incident.phase === 'open' ? 'open' : incident.count}`;
}

/** Discord's message nonce is at most 25 characters; `enforce_nonce` makes a repeat return the first message. */
const discordNonce = (id: string) => createHash('sha256').update(id).digest('hex').slice(0, 25);

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

function discordRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext, messageId?: string): WebhookRequest {
  const dedupe = { nonce: discordNonce(deliveryId(dest, content)), enforce_nonce: true };
  if (content.kind === 'ticket') {
    return { method: 'POST', url: dest.url, body: JSON.stringify({ ...discordTicketMessage(content.ticket, ctx), ...dedupe }), headers: JSON_HEADERS };
  }
  if (content.kind === 'sla') {
    return { method: 'POST', url: dest.url, body: JSON.stringify({ ...discordSlaMessage(content.sla, ctx), ...dedupe }), headers: JSON_HEADERS };
  }
  if (content.kind === 'drift') {
    return { method: 'POST', url: dest.url, body: JSON.stringify({ ...discordDriftMessage(content.drift), ...dedupe }), headers: JSON_HEADERS };
  }
  const message = discordIncidentMessage(content.incident, ctx);
  // Discord webhooks can edit their own messages, so an incident stays one message whose
  // count changes; `wait=true` makes the first post return the message id to edit.
  if (messageId !== undefined) {
    const u = new URL(dest.url);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/messages/${encodeURIComponent(messageId)}`;
    return { method: 'PATCH', url: u.toString(), body: JSON.stringify(message), headers: JSON_HEADERS };
  }
  return { method: 'POST', url: withQuery(dest.url, 'wait', 'true'), body: JSON.stringify({ ...message, ...dedupe }), headers: JSON_HEADERS };
}

function genericEvent(content: AlertContent, ctx: RenderContext): GenericEvent {
  switch (content.kind) {
    case 'ticket':
      return genericTicketEvent(content.ticket, ctx);
    case 'sla':
      return genericSlaEvent(content.sla, ctx);
    case 'incident':
      return genericIncidentEvent(content.incident);
    case 'drift':
      return { event: 'drift', drift: content.drift };
  }
}

function slackMessage(content: AlertContent, ctx: RenderContext): SlackMessage {
  switch (content.kind) {
    case 'ticket':
      return slackTicketMessage(content.ticket, ctx);
    case 'sla':
      return slackSlaMessage(content.sla, ctx);
    case 'incident':
      return slackIncidentMessage(content.incident, ctx);
    case 'drift':
      return slackDriftMessage(content.drift);
  }
}

function genericRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext): WebhookRequest {
  const event: GenericEvent = genericEvent(content, ctx);
  const id = deliveryId(dest, content);
  const body = JSON.stringify({ delivery_id: id, ...event });
  if (dest.secret === undefined) throw new Error(`generic destination ${dest.id} has no secret`);
  return { method: 'POST', url: dest.url, body, headers: { ...JSON_HEADERS, [DELIVERY_ID_HEADER]: id, ...signatureHeaders(body, dest.secret) } };
}

/** The HTTP request that carries `content` to `dest`; `discordMessageId` edits an incident post. */
export function buildWebhookRequest(dest: AlertDestination, content: AlertContent, ctx: RenderContext, discordMessageId?: string): WebhookRequest {
  switch (dest.type) {
    case 'slack':
      return { method: 'POST', url: dest.url, body: JSON.stringify(slackMessage(content, ctx)), headers: JSON_HEADERS };
    case 'discord':
      return discordRequest(dest, content, ctx, discordMessageId);
    case 'generic':
      return genericRequest(dest, content, ctx);
  }
}
