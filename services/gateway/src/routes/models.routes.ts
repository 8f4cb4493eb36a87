import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import {
  type ActiveModel,
  type Logger,
  type ModelBundle,
  ModelLoadError,
  ModelRegistry,
  type RedisClient,
  type RedisKeys,
  SwitchFailedError,
  WorkerRegistry,
  activeOrDefault,
  compareRequestSchema,
  findModel,
  listModels,
  modelCardOf,
  modelComparisonSchema,
  modelSwitchResponseSchema,
  modelsResponseSchema,
  nameUnder,
  promoteRequestSchema,
  switchModel,
} from '@triage/shared';
import { withoutPaths } from '../client-safe';
import { HttpError, validationError } from '../http-errors';
import { jsonBody } from '../middleware/json-body.middleware';
import type { ModelComparisons } from '../models/model-comparisons';

export interface ModelSettings {
  /** Bundles directly under it may be listed, compared and promoted (MODELS_ROOT). */
  root: string;
  /** What workers serve before any promotion (MODEL_DIR). */
  defaultDir: string;
  /** How long a promotion or rollback waits for every live worker (MODEL_SWITCH_TIMEOUT_MS). */
  switchTimeoutMs: number;
}

export interface ModelsRouteDeps {
  redis: RedisClient;
  keys: RedisKeys;
  models: ModelSettings;
  comparisons: ModelComparisons;
  requireRedis: RequestHandler;
  requireAdmin: RequestHandler;
  logger: Logger;
}

const comparisonId = z.uuid();

/** GET /v2/models, POST /v2/models/compare, GET /v2/models/compare/{id}, POST /v2/models/promote, POST /v2/models/rollback. */
export function modelsRouter(deps: ModelsRouteDeps): Router {
  const router = Router();
  const { requireAdmin, requireRedis } = deps;
  const registry = new ModelRegistry(deps.redis, deps.keys);
  const { root } = deps.models;
  const bundleOf = (m: Pick<ActiveModel, 'version' | 'dir'>): ModelBundle => ({ name: nameUnder(root, m.dir), dir: m.dir, version: m.version });

  /** The named candidate: 404 when MODELS_ROOT holds no such bundle, 422 when its config.json is broken. */
  const candidateOf = (ref: string): ModelBundle => {
    let found: ModelBundle | null;
    try {
      found = findModel(root, ref);
    } catch (err) {
      if (err instanceof ModelLoadError) throw new HttpError(422, `model ${ref} cannot be served: its config.json is missing or invalid`);
      throw err;
    }
    if (!found) throw new HttpError(404, `model ${ref} not found under the models root`);
    return found;
  };

  const switchOptions = () => ({ redis: deps.redis, keys: deps.keys, models: registry, timeoutMs: deps.models.switchTimeoutMs });
  const switched = async (change: () => Promise<ActiveModel | null>) => {
    try {
      const { active, workers } = await switchModel(switchOptions(), change);
      deps.logger.info('model switched over HTTP', { version: active.version, workers });
      return modelSwitchResponseSchema.parse({
        active: { version: active.version, name: nameUnder(root, active.dir), promoted_at: active.promoted_at, previous_version: active.previous_version ?? null },
        workers,
      });
    } catch (err) {
      if (!(err instanceof SwitchFailedError)) throw err;
      if (err.failures.size === 0) throw new HttpError(409, err.message);
      // a worker's reason names the bundle's files by absolute path: the client gets their last segment
      const details = [...err.failures].map(([worker, reason]) => ({ path: `workers.${worker}`, message: withoutPaths(reason) }));
      throw new HttpError(422, `${err.message}; ${err.aftermath}`, details);
    }
  };

  router.get('/models', requireAdmin, requireRedis, async (_req, res) => {
    const [active, live, reports] = await Promise.all([activeOrDefault(registry, deps.models.defaultDir), new WorkerRegistry(deps.redis, deps.keys).live(), registry.reports()]);
    const bundles = listModels(root);
    // the served bundle is listed even when it lives outside the models root
    if (!bundles.some((b) => b.version === active.version)) bundles.unshift(bundleOf(active));
    res.json(
      modelsResponseSchema.parse({
        active: { version: active.version, name: nameUnder(root, active.dir), promoted_at: active.promoted ? active.promoted_at : null, previous_version: active.previous_version ?? null },
        workers: live.map((w) => ({ worker_id: w.worker_id, model_version: w.model_version })),
        load_failures: Object.entries(reports).flatMap(([process, r]) => (r.ok ? [] : [{ process, version: r.version, error: withoutPaths(r.error ?? 'failed to load'), at: r.at }])),
        versions: bundles.map((b) => ({ name: b.name, version: b.version, active: b.version === active.version, previous: b.version === active.previous_version, card: modelCardOf(b.dir) })),
      }),
    );
  });

  router.post('/models/compare', requireAdmin, ...jsonBody, requireRedis, async (req, res) => {
    const parsed = compareRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const candidate = candidateOf(parsed.data.candidate);
    const active = bundleOf(await activeOrDefault(registry, deps.models.defaultDir));
    if (candidate.version === active.version) throw new HttpError(409, `${candidate.version} is the active model`);
    const comparison = await deps.comparisons.start(candidate, active);
    res.status(202).location(`/v2/models/compare/${comparison.id}`).json(modelComparisonSchema.parse(comparison));
  });

  router.get('/models/compare/:id', requireAdmin, requireRedis, async (req: Request<{ id: string }>, res) => {
    const id = comparisonId.safeParse(req.params.id);
    const comparison = id.success ? await deps.comparisons.get(id.data.toLowerCase()) : null;
    if (!comparison) throw new HttpError(404, `comparison ${req.params.id} not found`);
    res.json(modelComparisonSchema.parse(comparison));
  });

  router.post('/models/promote', requireAdmin, ...jsonBody, requireRedis, async (req, res) => {
    const parsed = promoteRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const candidate = candidateOf(parsed.data.candidate);
    const current = await activeOrDefault(registry, deps.models.defaultDir);
    if (candidate.version === current.version) throw new HttpError(409, `${candidate.version} is already active`);
    if (!parsed.data.force) {
      const comparison = await deps.comparisons.latest(candidate.version, current.version);
      if (comparison?.verdict === 'worse') throw new HttpError(409, `refusing to promote ${candidate.version}: it is worse than the active model (comparison ${comparison.id}); force promotes it anyway`);
      if (!comparison) throw new HttpError(409, `compare ${candidate.version} with the active ${current.version} first (POST /v2/models/compare), or promote with force`);
    }
    // The first promotion records what was served before it, so rollback can return to it.
    if (!current.promoted) await registry.promote(current.version, current.dir);
    res.json(await switched(() => registry.promote(candidate.version, candidate.dir)));
  });

  router.post('/models/rollback', requireAdmin, requireRedis, async (_req, res) => {
    res.json(await switched(() => registry.rollback()));
  });

  return router;
}
