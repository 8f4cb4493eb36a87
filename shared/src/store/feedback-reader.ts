import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import { type FeedbackEntry, feedbackEntrySchema } from '../schemas/agent.schema';

export interface StoredFeedback extends FeedbackEntry {
  /** The stream entry id (its first part is the append time in ms). */
  id: string;
}

const PAGE = 1_000;

/** Reads the corrections stream (`keys.feedback`); entries that do not parse are skipped and counted. */
export class FeedbackReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Entries appended at or after `sinceMs` (all when 0), oldest first, paged so a long stream never blocks Redis. */
  async since(sinceMs = 0): Promise<{ entries: StoredFeedback[]; skipped: number }> {
    const entries: StoredFeedback[] = [];
    let skipped = 0;
    let start = sinceMs > 0 ? `${Math.floor(sinceMs)}-0` : '-';
    for (;;) {
      const page = await this.redis.xrange(this.keys.feedback, start, '+', 'COUNT', PAGE);
      for (const [id, flat] of page) {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        const parsed = feedbackEntrySchema.safeParse(fields);
        if (parsed.success) entries.push({ ...parsed.data, id });
        else skipped++;
      }
      if (page.length < PAGE) break;
      start = `(${page[page.length - 1]![0]}`;
    }
    return { entries, skipped };
  }
}

/**
 * One entry per ticket, the last correction winning: a later field replaces an earlier one, a
 * field the later correction does not give (a priority-only fix) keeps the earlier value.
 */
export function latestPerTicket(entries: readonly StoredFeedback[]): StoredFeedback[] {
  const last = new Map<string, StoredFeedback>();
  for (const e of entries) {
    const given = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as StoredFeedback;
    const merged = { ...last.get(e.ticket_id), ...given };
    last.delete(e.ticket_id);
    last.set(e.ticket_id, merged);
  }
  return [...last.values()];
}
