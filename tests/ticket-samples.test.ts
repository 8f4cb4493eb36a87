import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSampleTickets } from '../scripts/src/ticket-samples';

const dir = mkdtempSync(join(tmpdir(), 'ticket-samples-'));
const csv = [
  'subject,body,queue,priority',
  ...Array.from({ length: 10 }, (_, i) => `Subject ${i},Body ${i}\\nsecond line,Queue ${i % 2},low`),
].join('\n');
const csvPath = join(dir, 'tickets.csv');
writeFileSync(csvPath, csv);
const sha256 = createHash('sha256').update(csv).digest('hex');

function metrics(name: string, data: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ data }));
  return path;
}

describe('demo and bench sample tickets', () => {
  it("come from the model's held-back rows when metrics.json names them for this very CSV", () => {
    const path = metrics('held-back.json', { sha256, split: { test_rows: [7, 2, 9] } });
    const { source, tickets } = loadSampleTickets(3, csvPath, path);
    expect(tickets.map((t) => t.subject)).toEqual(['Subject 7', 'Subject 2', 'Subject 9']);
    expect(tickets[0]).toMatchObject({ body: 'Body 7\nsecond line', queue: 'Queue 1', priority: 'low' });
    expect(source).toContain('held back');
  });

  it('spread over every CSV row when the CSV is not the one the model was trained on', () => {
    const path = metrics('other-csv.json', { sha256: '0'.repeat(64), split: { test_rows: [7, 2, 9] } });
    const { source, tickets } = loadSampleTickets(5, csvPath, path);
    expect(tickets.map((t) => t.subject)).toEqual(['Subject 0', 'Subject 2', 'Subject 4', 'Subject 6', 'Subject 8']);
    expect(source).toBe(csvPath);
    expect(loadSampleTickets(2, csvPath, join(dir, 'missing.json')).tickets).toHaveLength(2);
  });

  it('fall back to the bundled synthetic sample without the CSV', () => {
    const { source, tickets } = loadSampleTickets(4, join(dir, 'no.csv'));
    expect(source).toMatch(/sample-tickets\.json$/);
    expect(tickets).toHaveLength(4);
    expect(tickets.every((t) => t.queue === undefined && t.body.length > 0)).toBe(true);
  });
});
