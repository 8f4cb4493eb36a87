import { z } from 'zod';
import { DRIFT_SIGNALS } from '../monitoring/drift';
import { ticketIdSchema } from './ticket-id.schema';
import { actionSchema } from './ticket.schema';

/** Ends up in queue names, job ids and Redis keys, so no ':' or '.'. */
export const destinationIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lowercase letters, digits, "_" or "-" (max 32)');

export const DESTINATION_TYPES = ['slack', 'discord', 'generic'] as const;
export const destinationTypeSchema = z.enum(DESTINATION_TYPES);
export type DestinationType = z.infer<typeof destinationTypeSchema>;

export const ALERT_STATUSES = ['queued', 'delivered', 'retrying', 'failed', 'grouped'] as const;
export const alertStatusSchema = z.enum(ALERT_STATUSES);
export type AlertStatus = z.infer<typeof alertStatusSchema>;

export const ALERT_EXCERPT_CHARS = 300;

/** What an alert says about a ticket: a snapshot taken when it was triaged. */
export const ticketAlertSchema = z.strictObject({
  ticket_id: ticketIdSchema,
  subject: z.string().nullable(),
  excerpt: z.string().max(ALERT_EXCERPT_CHARS),
  category: z.string(),
  confidence: z.number().min(0).max(1),
  urgency_score: z.number().min(0).max(1),
  action: actionSchema,
  processed_at: z.iso.datetime().nullable(),
});
export type TicketAlert = z.infer<typeof ticketAlertSchema>;

/** A drift signal that reached the act band (PSI ≥ 0.25): what the `drift` alert says. */
export const driftAlertSchema = z.strictObject({
  signal: z.enum(DRIFT_SIGNALS),
  psi: z.number().min(0),
  /** Counts the crossings of this signal: one alert per episode, and its delivery id. */
  episode: z.int().min(1),
  window: z.string(),
  n: z.int().min(0),
  model_version: z.string(),
  detected_at: z.iso.datetime(),
  /** The bins whose share moved most, largest move first. */
  bins: z.array(z.strictObject({ bin: z.string(), reference: z.number(), current: z.number() })).max(5),
});
export type DriftAlert = z.infer<typeof driftAlertSchema>;

/**
 * Data of an `alert` job. It names the destination by id only: URLs and secrets stay in the
 * worker's configuration and never pass through Redis.
 */
export const alertJobSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ticket'), destination_id: destinationIdSchema, ticket: ticketAlertSchema }),
  z.strictObject({
    kind: z.literal('sla.breach'),
    destination_id: destinationIdSchema,
    /** warning: due within SLA_WARN_BEFORE_MS; breached: past due and still waiting for an agent. */
    phase: z.enum(['warning', 'breached']),
    due_at: z.iso.datetime(),
    ticket: ticketAlertSchema,
  }),
  z.strictObject({
    kind: z.literal('drift'),
    destination_id: destinationIdSchema,
    drift: driftAlertSchema,
  }),
  z.strictObject({
    kind: z.literal('incident'),
    destination_id: destinationIdSchema,
    incident_id: z.uuid(),
    phase: z.enum(['open', 'update']),
  }),
]);
export type AlertJobData = z.infer<typeof alertJobSchema>;

/** What a delivery-log line is about: the urgent-ticket alert, or one of the SLA alerts. */
export const ALERT_LOG_KINDS = ['ticket', 'sla.warning', 'sla.breach'] as const;
export type AlertLogKind = (typeof ALERT_LOG_KINDS)[number];

/** The delivery-log line a job writes; null for incident and drift jobs (no ticket: their state lives in the storm and drift stores). */
export function alertLogKindOf(data: AlertJobData): AlertLogKind | null {
  if (data.kind === 'ticket') return 'ticket';
  if (data.kind === 'sla.breach') return data.phase === 'warning' ? 'sla.warning' : 'sla.breach';
  return null;
}

/** One destination's line in a ticket's delivery log. */
export const alertLogEntrySchema = z.object({
  destination: destinationIdSchema,
  kind: z.enum(ALERT_LOG_KINDS).default('ticket'),
  type: destinationTypeSchema,
  status: alertStatusSchema,
  attempts: z.number().int().min(0),
  last_error: z.string().nullable(),
  delivered_at: z.iso.datetime().nullable(),
  updated_at: z.iso.datetime(),
  /** Set when the ticket was folded into a major-incident alert. */
  incident_id: z.uuid().nullable(),
});
export type AlertLogEntry = z.infer<typeof alertLogEntrySchema>;

/** GET /v2/tickets/:id/alerts */
export const ticketAlertsResponseSchema = z.object({
  ticket_id: ticketIdSchema,
  alerts: z.array(alertLogEntrySchema),
}).meta({ id: 'TicketAlerts' });
export type TicketAlertsResponse = z.infer<typeof ticketAlertsResponseSchema>;

/** What a line of the service-wide delivery log is about: a ticket's alert, a major-incident post or a drift alert. */
export const ALERT_DELIVERY_KINDS = [...ALERT_LOG_KINDS, 'incident', 'drift'] as const;
export type AlertDeliveryKind = (typeof ALERT_DELIVERY_KINDS)[number];

/** The outcome of one delivery attempt (or of grouping the ticket into an incident, which sends nothing itself). */
export const ALERT_OUTCOMES = ['delivered', 'retrying', 'failed', 'grouped'] as const;
export type AlertOutcome = (typeof ALERT_OUTCOMES)[number];

/** One line of the service-wide delivery log (`GET /v2/alerts`), newest first. */
export const alertDeliverySchema = z
  .object({
    /** Position in the log; pass it as `before` to read the lines older than it. */
    id: z.string().regex(/^\d+-\d+$/),
    at: z.iso.datetime(),
    kind: z.enum(ALERT_DELIVERY_KINDS),
    ticket_id: z.uuid().nullable(),
    incident_id: z.uuid().nullable(),
    destination: destinationIdSchema,
    type: destinationTypeSchema,
    outcome: z.enum(ALERT_OUTCOMES),
    /** Attempts made so far for this alert (0 for grouped). */
    attempts: z.number().int().min(0),
    error: z.string().nullable(),
  })
  .meta({ id: 'AlertDelivery' });
export type AlertDelivery = z.infer<typeof alertDeliverySchema>;

export const alertDeliveriesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  kind: z.enum(ALERT_DELIVERY_KINDS).optional(),
  outcome: z.enum(ALERT_OUTCOMES).optional(),
  destination: destinationIdSchema.optional(),
  before: z.string().regex(/^\d{1,15}-\d{1,10}$/, 'a log position (an id of a previous answer)').optional(),
});
export type AlertDeliveriesQuery = z.infer<typeof alertDeliveriesQuerySchema>;

/** GET /v2/alerts */
export const alertDeliveriesResponseSchema = z
  .object({
    deliveries: z.array(alertDeliverySchema),
    /** `before` for the next (older) page; null at the end of the log. */
    next_before: z.string().nullable(),
  })
  .meta({ id: 'AlertDeliveries' });
export type AlertDeliveriesResponse = z.infer<typeof alertDeliveriesResponseSchema>;
