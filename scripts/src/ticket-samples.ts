import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

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

/** The CSV stores line breaks as the two characters `\n`; the model was trained on real ones. */
export const unescapeNewlines = (text: string) => text.replace(/\\n/g, '\n');

interface CsvRow {
  subject: string;
  body: string;
  queue: string;
  priority: string;
}

/** `count` tickets, spread over the real CSV when present, else the bundled synthetic sample. */
export function loadSampleTickets(count: number, csvPath = DATA_CSV): { source: string; tickets: SampleTicket[] } {
  if (existsSync(csvPath)) {
    const rows = parse(readFileSync(csvPath), { columns: true, skip_empty_lines: true }) as CsvRow[];
    const usable = rows.filter((r) => r.body.trim().length > 0);
    const step = Math.max(1, Math.floor(usable.length / count));
    const tickets = Array.from({ length: Math.min(count, usable.length) }, (_, i) => usable[i * step]!).map((r) => ({
      ...(r.subject.trim() ? { subject: unescapeNewlines(r.subject).slice(0, 500) } : {}),
      body: unescapeNewlines(r.body).slice(0, 20_000),
      queue: r.queue,
      priority: r.priority,
    }));
    return { source: csvPath, tickets };
  }
  const bundled = JSON.parse(readFileSync(BUNDLED, 'utf8')) as SampleTicket[];
  const tickets = Array.from({ length: count }, (_, i) => bundled[i % bundled.length]!).map((t) =>
    t.subject ? t : { body: t.body },
  );
  return { source: BUNDLED, tickets };
}
