/** `npm run demo`: 20 real tickets in, triaged, then taken off the queue by urgency. */
import { errorMessage, loadConfigOrExit } from '@triage/shared';
import { clientFromEnv } from './client';
import { loadSampleTickets } from './ticket-samples';

const COUNT = 20;
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

async function main(): Promise<void> {
  const client = loadConfigOrExit(clientFromEnv);
  if (!(await client.health())) {
    throw new Error(`no Triage gateway at ${client.baseUrl}; start one with \`npm start\` (or set TRIAGE_URL)`);
  }
  const { source, tickets } = loadSampleTickets(COUNT);
  console.log(`Posting ${tickets.length} tickets from ${source} to ${client.baseUrl} …`);
  const ids = await Promise.all(tickets.map((t) => client.submit({ ...(t.subject ? { subject: t.subject } : {}), body: t.body })));
  const labels = new Map(ids.map((id, i) => [id, tickets[i]!]));
  const results = await Promise.all(ids.map((id) => client.settled(id)));
  console.log(`All ${results.length} triaged (${results.filter((r) => r.status === 'failed').length} failed). Popping /v2/tickets/next by urgency:\n`);

  const header = `${'#'.padStart(2)}  urgency  ${cut('category', 31)} conf  ${cut('action', 12)} ${cut('labelled queue / priority', 40)} subject`;
  console.log(header);
  console.log('-'.repeat(header.length + 20));
  for (let rank = 1; ; rank += 1) {
    const ticket = await client.next();
    if (!ticket) break;
    const label = labels.get(ticket.ticket_id);
    const truth = label?.queue ? `${label.queue} / ${label.priority}` : label ? '(bundled sample)' : '(not from this demo)';
    console.log(
      `${String(rank).padStart(2)}  ${ticket.urgency_score!.toFixed(3).padStart(7)}  ${cut(ticket.category ?? '', 31)} ${ticket.confidence!.toFixed(2)}  ` +
        `${cut(ticket.action ?? '', 12)} ${cut(truth, 40)} ${cut((ticket.subject ?? ticket.body).replace(/\s+/g, ' '), 50)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
