import { z } from 'zod';
import { healthResponseSchema, readyResponseSchema } from '@triage/shared';
import { modelMetricsSchema } from '../metrics/model-metrics';
import { type RouteDocs, error, headers, json } from '../openapi/api-doc';

/** /health, /ready, /metrics, /openapi.json and /docs. */
export const systemRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Liveness and status',
    description: 'Always 200 while the gateway serves HTTP, so a Redis outage never gets it restarted; Redis is asked only briefly.',
    tags: ['system'],
    access: 'open',
    needsRedis: false,
    responses: { 200: json(healthResponseSchema, 'The gateway is alive; the fields report its dependencies.') },
  });
  doc.route({
    method: 'get',
    path: '/ready',
    operationId: 'getReady',
    summary: 'Readiness: Redis answers and a worker is alive',
    tags: ['system'],
    access: 'open',
    needsRedis: false,
    responses: {
      200: json(readyResponseSchema, 'Ready to accept tickets.'),
      503: json(readyResponseSchema, 'Not ready (Redis unreachable or no worker heartbeat).', { headers: headers('Retry-After') }),
    },
  });
  doc.route({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Model quality (JSON) or Prometheus metrics (text)',
    description:
      'JSON by default: the held-back test metrics of the n-gram model (m1) and the encoder (m2). Prometheus scrapers, which ask for ' +
      '`text/plain` or OpenMetrics in `Accept`, get the metrics in the text format 0.0.4 (give the scraper an admin key).',
    tags: ['system'],
    access: ['admin'],
    needsRedis: false,
    responses: {
      200: {
        description: 'Model metrics, or Prometheus metrics when the Accept header asks for them.',
        content: {
          'application/json': { schema: modelMetricsSchema },
          'text/plain': { schema: z.string(), example: '# HELP triage_gateway_http_requests_total …' },
        },
      },
      503: error('The model directory has no valid metrics.json (JSON only).', 'model metrics unavailable: the model directory has no valid metrics.json'),
    },
  });
  doc.route({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI 3.1 document',
    tags: ['system'],
    access: 'open',
    needsRedis: false,
    responses: { 200: { description: 'The OpenAPI document.', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } } },
  });
  doc.route({
    method: 'get',
    path: '/docs',
    operationId: 'getDocs',
    summary: 'Interactive API documentation (Swagger UI)',
    tags: ['system'],
    access: 'open',
    needsRedis: false,
    responses: { 200: { description: 'The Swagger UI page.', content: { 'text/html': { schema: z.string() } } } },
  });
};
