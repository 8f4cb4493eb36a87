import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_CSV } from '../../scripts/src/ticket-samples';
import { modelDir } from './worker';

const shipped = () => JSON.parse(readFileSync(join(modelDir(), 'config.json'), 'utf8')) as { model_version: string; labels: string[] };

/** The shipped model's queue labels, in its encoder's output order. */
export const shippedLabels = (): string[] => shipped().labels;

/**
 * A model bundle at `dir`: the shipped model's files (linked, they are large) under another version,
 * with a small held-back split (40 of the shipped model's test rows) so `python -m training compare`
 * is quick. `labels` renames the encoder's outputs: out of order, it makes a much worse model.
 */
export function writeModelBundle(dir: string, version: string, labels = shippedLabels()): void {
  mkdirSync(dir);
  for (const file of ['onnx', 'tokenizer.json', 'ngram.json', 'metrics.json']) symlinkSync(join(modelDir(), file), join(dir, file));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...shipped(), model_version: version, labels }));
  const metrics = JSON.parse(readFileSync(join(modelDir(), 'metrics.json'), 'utf8')) as { data: { split: { test_rows: number[] } } };
  writeFileSync(join(dir, 'heldback.csv'), csvRows(readFileSync(DATA_CSV, 'utf8'), new Set(metrics.data.split.test_rows.slice(0, 40))));
}

/** The header and the chosen data rows of a CSV whose records may span lines (quoted newlines). */
function csvRows(csv: string, rows: Set<number>): string {
  const records: string[] = [];
  let current = '';
  let quotes = 0;
  for (const line of csv.split('\n')) {
    current = current ? `${current}\n${line}` : line;
    quotes += (line.match(/"/g) ?? []).length;
    if (quotes % 2 === 0) {
      records.push(current);
      current = '';
      quotes = 0;
    }
  }
  const [header, ...data] = records;
  return `${[header, ...data.filter((_, i) => rows.has(i))].join('\n')}\n`;
}
