import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const weightedAvgSchema = z.object({ precision: z.number(), recall: z.number(), f1: z.number() });
const classificationSchema = z.looseObject({
  accuracy: z.number(),
  macro_f1: z.number(),
  // Written by newer trainers; for older metrics.json it is derived from per_class (below).
  weighted_avg: weightedAvgSchema.optional(),
  per_class: z.record(z.string(), weightedAvgSchema.extend({ support: z.number().int().min(0) })),
});
const urgencySchema = z.looseObject({ rmse: z.number(), mae: z.number() });

/** The parts of the training run's metrics.json (held-back test split) that /metrics and /health show. */
const metricsFileSchema = z.looseObject({
  comparison: z.looseObject({ ngram: classificationSchema, served: classificationSchema }),
  urgency: z.looseObject({ ngram: urgencySchema, served: urgencySchema }),
  served: z.looseObject({ ece: z.number() }),
});

type Classification = z.infer<typeof classificationSchema>;

/** GET /metrics (JSON): m1 = the n-gram fallback (/v1, open breakers), m2 = the served encoder. */
export const modelMetricsSchema = z.object({
  m1: z.object({
    model: z.literal('ngram'),
    accuracy: z.number(),
    macro_f1: z.number(),
    'weighted avg': z.object({ precision: z.number(), recall: z.number(), 'f1-score': z.number() }),
    rmse: z.number(),
    mae: z.number(),
  }),
  m2: z.object({
    model: z.literal('encoder'),
    accuracy: z.number(),
    macro_f1: z.number(),
    'weighted avg': z.object({ precision: z.number(), recall: z.number(), 'f1-score': z.number() }),
    rmse: z.number(),
    mae: z.number(),
    ece: z.number(),
  }),
});
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

/** sklearn's "weighted avg": per-class metrics averaged with the class supports as weights. */
function supportWeighted(perClass: Classification['per_class']): z.infer<typeof weightedAvgSchema> {
  const rows = Object.values(perClass);
  const total = rows.reduce((n, r) => n + r.support, 0) || 1;
  const mean = (key: 'precision' | 'recall' | 'f1') => rows.reduce((acc, r) => acc + r[key] * r.support, 0) / total;
  return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') };
}

// sklearn's classification_report spelling, which the seed API's clients read.
const report = (c: Classification) => {
  const weighted = c.weighted_avg ?? supportWeighted(c.per_class);
  return {
    accuracy: c.accuracy,
    macro_f1: c.macro_f1,
    'weighted avg': { precision: weighted.precision, recall: weighted.recall, 'f1-score': weighted.f1 },
  };
};

/** Reads `<dir>/metrics.json`; throws with the file's name when it is missing or lacks a field. */
export function loadModelMetrics(modelDir: string): ModelMetrics {
  const path = join(modelDir, 'metrics.json');
  const parsed = metricsFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a metrics file of this trainer: ${z.prettifyError(parsed.error)}`);
  const { comparison, urgency, served } = parsed.data;
  return {
    m1: { model: 'ngram', ...report(comparison.ngram), rmse: urgency.ngram.rmse, mae: urgency.ngram.mae },
    m2: { model: 'encoder', ...report(comparison.served), rmse: urgency.served.rmse, mae: urgency.served.mae, ece: served.ece },
  };
}
