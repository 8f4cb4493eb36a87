import { z } from 'zod';
import { positiveInt } from './env';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90s", "30m", "1h", "1.5d" or a number of milliseconds. */
export const durationMs = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'must be a duration like "90s", "30m", "8h" or "1d"')
    .transform((s) => {
      const [, value, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s)!;
      return Math.round(Number(value) * UNIT_MS[unit as keyof typeof UNIT_MS]);
    })
    .pipe(z.number().int().positive('must be longer than 0')),
]);

export const slaBandSchema = z.strictObject({ min_urgency: z.number().min(0).max(1), within: durationMs });

/** Bands by urgency, most urgent first; the first band whose min_urgency the score reaches sets due_at. */
export const slaPolicySchema = z
  .array(slaBandSchema)
  .min(1)
  .transform((bands) => [...bands].sort((a, b) => b.min_urgency - a.min_urgency).map((b) => ({ minUrgency: b.min_urgency, withinMs: b.within })))
  .refine((bands) => bands.at(-1)!.minUrgency === 0, 'needs a band with min_urgency 0, so every ticket gets a due time');
export type SlaPolicy = z.output<typeof slaPolicySchema>;

export const DEFAULT_SLA_POLICY = '[{"min_urgency":0.8,"within":"1h"},{"min_urgency":0.5,"within":"8h"},{"min_urgency":0,"within":"24h"}]';

const jsonText = <S extends z.ZodType>(schema: S) =>
  z.string().transform((text, ctx): z.output<S> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
    return z.NEVER;
  });

/** Days as a positive number; fractions are allowed so tests can use a retention of a second. */
const days = () => z.coerce.number().positive().max(3_650);

/**
 * The agents' workflow (leases, aging, SLA, retention): read by the gateway (leases, acks,
 * display) and the worker (results, maintenance sweep), so both spread it into their schema.
 */
export const agentsEnv = {
  LEASE_TTL_MS: positiveInt(86_400_000).default(900_000),
  /** Effective priority = urgency + this × hours waited. 0.05: a low (0.15) ticket passes a fresh medium (0.5) one after 7 h, long before its 24 h due time. */
  AGING_PER_HOUR: z.coerce.number().min(0).max(100).default(0.05),
  SLA_POLICY: jsonText(slaPolicySchema).default(slaPolicySchema.parse(JSON.parse(DEFAULT_SLA_POLICY))),
  SLA_WARN_BEFORE_MS: z.coerce.number().int().min(0).default(900_000),
  /** Processed, done and failed tickets (and their alert logs) are deleted this long after they got there. */
  RETENTION_DAYS: days().default(30),
  /** Corrections older than this are trimmed from the feedback stream. */
  FEEDBACK_RETENTION_DAYS: days().default(365),
};

export const DAY_MS = 86_400_000;

/** Attempts and backoff of `triage` jobs: the gateway enqueues them, the worker's reconciler re-enqueues orphans. */
export const triageJobEnv = {
  JOB_ATTEMPTS: positiveInt(20).default(3),
  JOB_BACKOFF_MS: positiveInt(600_000).default(1000),
};
