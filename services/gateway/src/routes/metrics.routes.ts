import { Router } from 'express';
import { HttpError } from '../http-errors';
import type { ModelMetrics } from '../metrics/model-metrics';
import type { Prometheus } from '../metrics/prometheus';

export interface MetricsRouteDeps {
  prometheus: Prometheus;
  modelMetrics: ModelMetrics | null;
}

const EXPOSITION_TYPES = new Set(['text/plain', 'application/openmetrics-text']);

/**
 * The seed API's clients read model metrics as JSON here; Prometheus scrapes the same path and says
 * so in its Accept header (OpenMetrics or text/plain), so both keep working. OpenMetrics requests get
 * the text format 0.0.4, which Prometheus accepts as well.
 */
export function metricsRouter({ prometheus, modelMetrics }: MetricsRouteDeps): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const preferred = req.accepts(['application/json', 'text/plain', 'application/openmetrics-text']);
    res.vary('Accept');
    if (typeof preferred === 'string' && EXPOSITION_TYPES.has(preferred)) {
      res.type(prometheus.register.contentType).send(await prometheus.register.metrics());
      return;
    }
    if (!modelMetrics) throw new HttpError(503, 'model metrics unavailable: the model directory has no valid metrics.json');
    res.json(modelMetrics);
  });
  return router;
}
