import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { BODY_MAX, SUBJECT_MAX } from '@triage/shared';

export interface SampleTicket {
  subject?: string;
  body: string;
  /** The publisher's labels, when the sample comes from the CSV. */
  queue?: string;
  priority?: string;
}

/** The labelled data set that sits next to the repository (see its README for the licence). */
export const DATA_CSV = join(__dirname, '..', '..', '..', 'shared', 'data', 'tickets.csv');
const BUNDLED = join(__dirname, '..', 'sample-tickets.json');
/** The shipped model's training report: which CSV rows its card's test split holds. */
export const MODEL_METRICS = join(__dirname, '..', '..', 'models', 'triage', 'metrics.json');

/** The CSV stores line breaks as the two characters `\n`; the model was trained on real ones. */
export const unescapeNewlines = (text: string) => text.replace(/\\n/g, '\n');

interface CsvRow {
  subject: string;
  body: string;
  queue: string;
  priority: string;
}

interface MetricsData {
  data?: { sha256?: string; split?: { test_rows?: number[] } };
}

/**
 * The CSV rows the shipped model never trained on (its card's test split), when the CSV is the very file
 * it was trained on; a demo over training rows would look better than the model is.
 */
function heldBackRows(csv: Buffer, metricsPath: string): number[] | null {
  if (!existsSync(metricsPath)) return null;
  const { data } = JSON.parse(readFileSync(metricsPath, 'utf8')) as MetricsData;
  const rows = data?.split?.test_rows;
  if (!rows?.length || createHash('sha256').update(csv).digest('hex') !== data?.sha256) return null;
  return rows;
}

/**
 * `count` tickets spread over the real CSV when present (over the model's held-back rows when it can tell
 * which they are), else the bundled synthetic sample.
 */
export function loadSampleTickets(
  count: number,
  csvPath = DATA_CSV,
  metricsPath = MODEL_METRICS,
): { source: string; tickets: SampleTicket[] } {
  if (existsSync(csvPath)) {
    const csv = readFileSync(csvPath);
    const rows = parse<CsvRow>(csv, { columns: true, skip_empty_lines: true });
    const heldBack = heldBackRows(csv, metricsPath);
    const pool = (heldBack ? heldBack.map((i) => rows[i]!) : rows).filter((r) => r.body.trim().length > 0);
    const step = Math.max(1, Math.floor(pool.length / count));
    const tickets = Array.from({ length: Math.min(count, pool.length) }, (_, i) => pool[i * step]!).map((r) => ({
      ...(r.subject.trim() ? { subject: unescapeNewlines(r.subject).slice(0, SUBJECT_MAX) } : {}),
      body: unescapeNewlines(r.body).slice(0, BODY_MAX),
      queue: r.queue,
      priority: r.priority,
    }));
    return { source: heldBack ? `${csvPath} (rows the model held back from training)` : csvPath, tickets };
  }
  const bundled = JSON.parse(readFileSync(BUNDLED, 'utf8')) as SampleTicket[];
  const tickets = Array.from({ length: count }, (_, i) => bundled[i % bundled.length]!).map((t) =>
    t.subject ? t : { body: t.body },
  );
  return { source: BUNDLED, tickets };
}
