import { z } from 'zod';

/** A model directory's name under MODELS_ROOT: one path segment, never `..`. */
export const modelNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a directory name under MODELS_ROOT (letters, digits, ".", "_", "-")');

/** A candidate is named by its directory under MODELS_ROOT or by its model version. */
export const modelRefSchema = z.union([modelNameSchema, z.string().regex(/^sha256:[0-9a-f]{8,64}$/)]).meta({
  description: 'A model directory name under MODELS_ROOT (e.g. "triage-2026-12-01") or a model version ("sha256:…").',
  example: 'triage-2026-12-01',
});

/** The figures of a model's card (metrics.json, held-back split); null where the card lacks them. */
export const modelCardFiguresSchema = z.object({
  kind: z.string().nullable(),
  trained_at: z.string().nullable(),
  test_rows: z.number().int().nullable(),
  accuracy: z.number().nullable(),
  macro_f1: z.number().nullable(),
  alert_precision: z.number().nullable(),
  alert_recall: z.number().nullable(),
});
export type ModelCardFigures = z.infer<typeof modelCardFiguresSchema>;

export const modelVersionSchema = z.object({
  /** Directory name under MODELS_ROOT; null for a served directory outside it. */
  name: z.string().nullable(),
  version: z.string(),
  active: z.boolean(),
  previous: z.boolean(),
  card: modelCardFiguresSchema,
});
export type ModelVersionInfo = z.infer<typeof modelVersionSchema>;

/** GET /v2/models */
export const modelsResponseSchema = z
  .object({
    active: z.object({
      version: z.string(),
      name: z.string().nullable(),
      /** null while nothing was promoted: workers serve their MODEL_DIR. */
      promoted_at: z.iso.datetime().nullable(),
      previous_version: z.string().nullable(),
    }),
    workers: z.array(z.object({ worker_id: z.string(), model_version: z.string() })),
    load_failures: z.array(z.object({ process: z.string(), version: z.string(), error: z.string(), at: z.iso.datetime() })),
    versions: z.array(modelVersionSchema),
  })
  .meta({ id: 'ModelVersions' });
export type ModelsResponse = z.infer<typeof modelsResponseSchema>;

/** One model's figures on one set of rows, as `python -m training compare` scores it. */
export const modelScoreSchema = z.object({
  version: z.string(),
  rows: z.number().int(),
  accuracy: z.number(),
  macro_f1: z.number(),
  per_queue: z.record(z.string(), z.number()),
  alert: z.looseObject({ precision: z.number(), recall: z.number() }).nullable(),
});
export type ModelScore = z.infer<typeof modelScoreSchema>;

export const COMPARISON_VERDICTS = ['better', 'same', 'worse'] as const;
export type ComparisonVerdict = (typeof COMPARISON_VERDICTS)[number];

/** A comparison of a candidate with the active model (POST /v2/models/compare, GET /v2/models/compare/{id}). */
export const modelComparisonSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['running', 'done', 'failed']),
    candidate: z.object({ name: z.string().nullable(), version: z.string() }),
    active: z.object({ name: z.string().nullable(), version: z.string() }),
    /** Corrections agents made since the active model was trained, scored besides the candidate's held-back split. */
    corrections: z.number().int(),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime().nullable(),
    /** better/same/worse on accuracy + macro-F1 over all compared rows; null until done. */
    verdict: z.enum(COMPARISON_VERDICTS).nullable(),
    sets: z.array(z.object({ name: z.string(), candidate: modelScoreSchema, active: modelScoreSchema })),
    error: z.string().nullable(),
  })
  .meta({ id: 'ModelComparison' });
export type ModelComparison = z.infer<typeof modelComparisonSchema>;

export const compareRequestSchema = z.strictObject({ candidate: modelRefSchema }).meta({ id: 'CompareRequest' });
export const promoteRequestSchema = z
  .strictObject({
    candidate: modelRefSchema,
    /** Promote without a comparison, or despite a worse one (an emergency fix). */
    force: z.boolean().default(false),
  })
  .meta({ id: 'PromoteRequest' });

/** POST /v2/models/promote and /v2/models/rollback */
export const modelSwitchResponseSchema = z
  .object({
    active: z.object({ version: z.string(), name: z.string().nullable(), promoted_at: z.iso.datetime(), previous_version: z.string().nullable() }),
    /** Live workers now serving it (all of them: a switch that some cannot load is undone). */
    workers: z.number().int(),
  })
  .meta({ id: 'ModelSwitch' });
export type ModelSwitchResponse = z.infer<typeof modelSwitchResponseSchema>;
