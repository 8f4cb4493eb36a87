import { type Job, UnrecoverableError } from 'bullmq';
import { type Explanation, explainJobSchema } from '@triage/shared';
import type { TicketExplainer } from './ticket-explainer';

/** `explain` jobs: the gateway waits for the returned explanation (GET /v2/tickets/:id/explain). */
export function createExplainProcessor(explainer: Pick<TicketExplainer, 'explain'>) {
  return async function processExplainJob(job: Job): Promise<Explanation> {
    const parsed = explainJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid explain job payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    return explainer.explain(parsed.data);
  };
}
