/**
 * The model bundle's `config.json` (docs/model-contract.md): one schema, read by the fallback, the
 * encoder and the alert threshold alike, so they cannot disagree about what a valid bundle is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelLoadError } from './errors';

/** Knots of a non-decreasing piecewise-linear map of the top-1 probability (docs/model-contract.md). */
export const confidenceMapSchema = z
  .object({ x: z.array(z.number().min(0).max(1)).min(1), y: z.array(z.number().min(0).max(1)).min(1) })
  .refine((m) => m.x.length === m.y.length, { message: 'x and y must have the same length' })
  .refine((m) => m.x.every((v, i) => i === 0 || v > (m.x[i - 1] as number)), { message: 'x must be increasing' })
  .refine((m) => m.y.every((v, i) => i === 0 || v >= (m.y[i - 1] as number)), { message: 'y must be non-decreasing' });

export const blendConfigSchema = z.object({
  queue_encoder_weight: z.number().min(0).max(1),
  urgency_encoder_weight: z.number().min(0).max(1),
  temperature: z.number().positive(),
  confidence_map: confidenceMapSchema.optional(),
});

export const modelConfigSchema = z.looseObject({
  model_version: z.string().min(1),
  labels: z
    .array(z.string().min(1))
    .min(1)
    .refine((labels) => new Set(labels).size === labels.length, { message: 'duplicate labels' }),
  max_length: z.number().int().min(3),
  alert_threshold: z.number().min(0).max(1),
  action_thresholds: z.object({ auto_route: z.number(), human_review: z.number() }).optional(),
  pad_token_id: z.number().int().min(0).optional(),
  model_inputs: z.array(z.enum(['input_ids', 'attention_mask', 'token_type_ids'])).optional(),
  onnx_file: z.string().min(1).optional(),
  blend: blendConfigSchema.nullable().optional(),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type BlendConfig = z.infer<typeof blendConfigSchema>;
export type ConfidenceMap = z.infer<typeof confidenceMapSchema>;

/** Reads and validates `<dir>/config.json`; throws ModelLoadError naming what is wrong. */
export function readModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ModelLoadError(`model config missing: ${path}`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`model config ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = modelConfigSchema.safeParse(doc);
  if (!parsed.success) throw new ModelLoadError(`model config ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
