import { z } from 'zod';
import { compareRequestSchema, modelComparisonSchema, modelSwitchResponseSchema, modelsResponseSchema, promoteRequestSchema } from '@triage/shared';
import { type RouteDocs, error, headers, json } from '../openapi/api-doc';

const VERSION = 'sha256:e228a397521897bd';
const CANDIDATE = 'sha256:4f0c2a9d1b7e3c55';
const COMPARISON_ID = '6f1c8d2e-4b7a-4c3e-9a51-2d8f0e7b9c14';
const SCORE = { version: VERSION, rows: 1161, accuracy: 0.503, macro_f1: 0.484, per_queue: { 'Billing and Payments': 0.801 }, alert: { threshold: 0.67, precision: 0.67, recall: 0.41 } };
const SWITCH_EXAMPLE = { active: { version: CANDIDATE, name: 'triage-2026-12-01', promoted_at: '2026-12-01T10:00:00.000Z', previous_version: VERSION }, workers: 2 };

/** GET /v2/models, POST /v2/models/compare, GET /v2/models/compare/{id}, POST /v2/models/promote, POST /v2/models/rollback (models.routes.ts). */
export const modelRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/v2/models',
    operationId: 'listModels',
    summary: 'The active model, the previous one, and every bundle under MODELS_ROOT with its card figures',
    description: 'Also what each live worker serves and any process that failed to load the active version.',
    tags: ['models'],
    access: ['admin'],
    responses: {
      200: json(modelsResponseSchema, 'The model versions.', {
        example: {
          active: { version: VERSION, name: 'triage', promoted_at: null, previous_version: null },
          workers: [{ worker_id: 'worker-1', model_version: VERSION }],
          load_failures: [],
          versions: [{ name: 'triage', version: VERSION, active: true, previous: false, card: { kind: 'refit', trained_at: '2026-11-30T18:00:00Z', test_rows: 1161, accuracy: 0.503, macro_f1: 0.484, alert_precision: 0.67, alert_recall: 0.407 } }],
        },
      }),
    },
  });
  doc.route({
    method: 'post',
    path: '/v2/models/compare',
    operationId: 'compareModel',
    summary: 'Starts comparing a candidate bundle with the active model',
    description:
      'Runs `python -m training compare` in a child process: both models served as the workers serve them, on the candidate’s held-back split plus the corrections agents made since the active model was trained. ' +
      'Answers at once; poll `Location` until `status` is done (verdict better / same / worse on accuracy + macro-F1) or failed. One comparison at a time per gateway.',
    tags: ['models'],
    access: ['admin'],
    jsonBody: { schema: compareRequestSchema, example: { candidate: 'triage-2026-12-01' } },
    responses: {
      202: json(modelComparisonSchema, 'Started.', {
        headers: headers('Location'),
        example: { id: COMPARISON_ID, status: 'running', candidate: { name: 'triage-2026-12-01', version: CANDIDATE }, active: { name: 'triage', version: VERSION }, corrections: 12, started_at: '2026-12-01T09:58:00.000Z', finished_at: null, verdict: null, sets: [], error: null },
      }),
      400: error('A malformed body.', 'validation failed'),
      404: error('No such bundle under MODELS_ROOT.', 'model triage-2027 not found under the models root'),
      409: error('The candidate is the active model, or a comparison is already running on this gateway.', `${CANDIDATE} is the active model`),
      422: error('The bundle’s config.json is missing or invalid.', 'model broken cannot be served: its config.json is missing or invalid'),
      503: error('This gateway cannot run the comparison (no python3 or training package; use npm run model -- compare).', 'model comparison is unavailable on this gateway: …'),
    },
  });
  doc.route({
    method: 'get',
    path: '/v2/models/compare/{id}',
    operationId: 'getModelComparison',
    summary: 'A comparison: running, or done with both models’ figures side by side and the verdict',
    tags: ['models'],
    access: ['admin'],
    request: { params: z.object({ id: z.string().meta({ description: 'The comparison id (POST /v2/models/compare).', example: COMPARISON_ID }) }) },
    responses: {
      200: json(modelComparisonSchema, 'The comparison.', {
        example: {
          id: COMPARISON_ID, status: 'done', candidate: { name: 'triage-2026-12-01', version: CANDIDATE }, active: { name: 'triage', version: VERSION }, corrections: 12,
          started_at: '2026-12-01T09:58:00.000Z', finished_at: '2026-12-01T09:59:10.000Z', verdict: 'better',
          sets: [{ name: 'held-back split', active: SCORE, candidate: { ...SCORE, version: CANDIDATE, accuracy: 0.531, macro_f1: 0.502 } }], error: null,
        },
      }),
      404: error('No such comparison (they are kept 7 days).', `comparison ${COMPARISON_ID} not found`),
    },
  });
  doc.route({
    method: 'post',
    path: '/v2/models/promote',
    operationId: 'promoteModel',
    summary: 'Makes a candidate the active model once its comparison says it is not worse',
    description:
      'Needs a finished comparison of this candidate with the current active model whose verdict is better or same; `force` skips that check. ' +
      'Every worker and gateway follows without a restart; the answer comes once all live workers serve it (MODEL_SWITCH_TIMEOUT_MS). If some cannot load it, the previous version is restored and the answer is 422.',
    tags: ['models'],
    access: ['admin'],
    jsonBody: { schema: promoteRequestSchema, example: { candidate: 'triage-2026-12-01' } },
    responses: {
      200: json(modelSwitchResponseSchema, 'Promoted; every live worker serves it.', { example: SWITCH_EXAMPLE }),
      400: error('A malformed body.', 'validation failed'),
      404: error('No such bundle under MODELS_ROOT.', 'model triage-2027 not found under the models root'),
      409: error('Already active, not compared yet, or worse than the active model (without force).', `refusing to promote ${CANDIDATE}: it is worse than the active model (comparison ${COMPARISON_ID}); force promotes it anyway`),
      422: error('The bundle is broken, or live workers could not load it (the previous version is active again, unless another version was made active meanwhile: that one stays).', `1 worker(s) could not load ${CANDIDATE}; ${VERSION} is active again`),
    },
  });
  doc.route({
    method: 'post',
    path: '/v2/models/rollback',
    operationId: 'rollbackModel',
    summary: 'Returns to the previous active model (and makes the current one the previous)',
    tags: ['models'],
    access: ['admin'],
    responses: {
      200: json(modelSwitchResponseSchema, 'Rolled back; every live worker serves it.', { example: { ...SWITCH_EXAMPLE, active: { ...SWITCH_EXAMPLE.active, version: VERSION, name: 'triage', previous_version: CANDIDATE } } }),
      409: error('Nothing was promoted before.', 'there is no previous version to roll back to'),
      422: error('Live workers could not load it (the version before is active again, unless another version was made active meanwhile: that one stays).', '1 worker(s) could not load …'),
    },
  });
};
