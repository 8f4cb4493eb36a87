import { randomUUID } from 'node:crypto';
import type { TicketStore, TriageResult } from '@triage/shared';
import type { TriageClient } from '../../scripts/src/client';

/** Stores a result the way a worker does (start → commit, which gives the lock back); throws if a step is refused. */
export async function processTicket(store: TicketStore, ticketId: string, urgency: number, result: Partial<TriageResult> = {}): Promise<void> {
  const token = randomUUID();
  const start = await store.startProcessing(ticketId, token, 10_000);
  if (start.outcome !== 'started') throw new Error(`ticket ${ticketId} did not move to processing: ${JSON.stringify(start)}`);
  const { outcome } = await store.commitResult(ticketId, token, {
    category: 'Billing and Payments',
    confidence: 0.9,
    top3: [{ category: 'Billing and Payments', probability: 0.9 }],
    urgency_score: urgency,
    action: 'AUTO_ROUTE',
    model_version: 'sha256:test',
    model_used: 'encoder',
    processed_at: new Date().toISOString(),
    queue_ms: 1,
    inference_ms: 2,
    ...result,
  });
  if (outcome !== 'committed') throw new Error(`commit of ${ticketId} → ${outcome}`);
}

/** Submits `bodies` in turn, one every 100 ms, until `stop` settles (and at least `min`); returns the ticket ids. */
export async function submitWhile(client: TriageClient, stop: Promise<unknown>, bodies: readonly string[], min = 6): Promise<string[]> {
  const ids: string[] = [];
  let done = false;
  void stop.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; !done || ids.length < min; i++) {
    ids.push(await client.submit({ body: bodies[i % bodies.length]! }));
    await new Promise((r) => setTimeout(r, 100));
  }
  return ids;
}
