import { Router } from 'express';
import { HttpError } from '../http-errors';
import { requireScope } from '../middleware/auth.middleware';
import type { ModelMetrics } from '../metrics/model-metrics';
import type { Prometheus } from '../metrics/prometheus';

export interface MetricsRouteDeps {
  prometheus: Prometheus;
  modelMetrics: ModelMetrics | null;
}

const JSON_TYPE = 'application/json';
// Versioned offers: Accept negotiation only matches a client's `;version=` parameter against an
// offer carrying the same one (Prometheus sends OpenMetrics 1.0.0 or 0.0.1, then text 0.0.4).
const OFFERS = [JSON_TYPE, 'text/plain; version=0.0.4', 'application/openmetrics-text; version=1.0.0', 'application/openmetrics-text; version=0.0.1'];

/**
 * The seed API's clients read model metrics as JSON here; Prometheus scrapes the same path and says
 * so in its Accept header (OpenMetrics or text/plain), so both keep working. OpenMetrics requests get
 * the text format 0.0.4, which Prometheus accepts as well.
 */
export function metricsRouter({ prometheus, modelMetrics }: MetricsRouteDeps): Router {
  const router = Router();
  router.get('/metrics', requireScope('admin'), async (req, res) => {
    const preferred = req.accepts(OFFERS);
    res.vary('Accept');
    if (preferred && preferred !== JSON_TYPE) {
      res.type(prometheus.register.contentType).send(await prometheus.register.metrics());
      return;
    }
    if (!modelMetrics) throw new HttpError(503, 'model metrics unavailable: the model directory has no valid metrics.json');
    res.json(modelMetrics);
  });
  return router;
}
