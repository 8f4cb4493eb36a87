import { randomUUID } from 'node:crypto';
import type { TicketStore, TriageResult } from '@triage/shared';

/** Stores a result the way a worker does (lock → commit → unlock); throws if any step is refused. */
export async function processTicket(store: TicketStore, ticketId: string, urgency: number, result: Partial<TriageResult> = {}): Promise<void> {
  const token = randomUUID();
  const moved = await store.transition(ticketId, ['pending'], 'processing');
  if (!moved?.applied) throw new Error(`ticket ${ticketId} did not move to processing: ${JSON.stringify(moved)}`);
  if (!(await store.acquireLock(ticketId, token, 10_000))) throw new Error(`ticket ${ticketId} lock is taken`);
  const outcome = await store.commitResult(ticketId, token, {
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
  await store.releaseLock(ticketId, token);
}
