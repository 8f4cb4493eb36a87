/** Corrections → the training CSV format (training/data.py reads it like the shipped data files). */
import { type StoredFeedback, latestPerTicket } from './feedback-reader';

export const CORRECTIONS_COLUMNS = ['subject', 'body', 'queue', 'priority', 'language', 'source', 'ticket_id', 'corrected_at', 'model_version', 'predicted_queue'] as const;

/** The published data files store newlines as the two characters `\n`; training turns them back. */
const escapeNewlines = (s: string) => s.replace(/\r\n|\r|\n/g, '\\n');

function cell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface CorrectionRow {
  subject: string;
  body: string;
  queue: string;
  priority: string;
  language: string;
  source: string;
  ticket_id: string;
  corrected_at: string;
  model_version: string;
  predicted_queue: string;
}

/**
 * One row per ticket, the last correction winning. A correction that names no queue keeps the
 * predicted one (the agent saw it and left it); the priority stays empty unless an agent gave one,
 * so such a row trains the queue and not the urgency.
 */
export function correctionRows(entries: readonly StoredFeedback[]): CorrectionRow[] {
  return latestPerTicket(entries).map((e) => ({
    subject: escapeNewlines(e.subject),
    body: escapeNewlines(e.body),
    queue: e.queue ?? e.predicted_queue,
    priority: e.priority ?? '',
    language: e.language ?? '',
    source: 'feedback',
    ticket_id: e.ticket_id,
    corrected_at: e.at,
    model_version: e.model_version,
    predicted_queue: e.predicted_queue,
  }));
}

export function toCsv(rows: readonly CorrectionRow[]): string {
  const lines = [CORRECTIONS_COLUMNS.join(',')];
  for (const row of rows) lines.push(CORRECTIONS_COLUMNS.map((c) => cell(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}
