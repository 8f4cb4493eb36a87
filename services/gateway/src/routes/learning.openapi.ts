import { z } from 'zod';
import { driftResponseSchema, reviewQuerySchema, reviewResponseSchema, statsResponseSchema } from '@triage/shared';
import { type RouteDocs, error, json } from '../openapi/api-doc';

// parseWindow's rule (1 minute to 7 days) as a pattern, so clients and fuzzers see it.
const WINDOW = /^(?:(?:[1-9][0-9]{0,3}|100[0-7][0-9]|10080)m|(?:[1-9][0-9]?|1[0-5][0-9]|16[0-8])h|[1-7]d)$/;
const windowQuery = z.object({
  window: z.string().regex(WINDOW).optional().meta({ description: 'How far back to look: 30m, 24h, 7d … (1 minute to 7 days; default 24h).', example: '24h' }),
});

/** GET /v2/stats, /v2/monitoring/drift, /v2/review (learning.routes.ts). */
export const learningRouteDocs: RouteDocs = (doc) => {
  doc.route({
    method: 'get',
    path: '/v2/stats',
    operationId: 'getStats',
    summary: 'Live production figures over a window',
    description: 'Tickets per queue/action/model, automation rate, latency percentiles, agent activity and live accuracy from corrections.',
    tags: ['monitoring'],
    access: ['admin'],
    request: { query: windowQuery },
    responses: { 200: json(statsResponseSchema, 'The figures for the window.') },
  });
  doc.route({
    method: 'get',
    path: '/v2/monitoring/drift',
    operationId: 'getDrift',
    summary: 'Input and prediction drift (PSI) against the model’s reference',
    tags: ['monitoring'],
    access: ['admin'],
    request: { query: windowQuery },
    responses: {
      200: json(driftResponseSchema, 'PSI per signal with its band (stable / watch / act).'),
      409: error('The active model has no drift reference.', 'the active model has no drift_reference in its config.json'),
    },
  });
  doc.route({
    method: 'get',
    path: '/v2/review',
    operationId: 'getReviewList',
    summary: 'Tickets the model was least sure about (smallest top-2 margin first): what agents should label next',
    tags: ['monitoring'],
    access: ['agent', 'admin'],
    request: { query: z.object({ limit: reviewQuerySchema.shape.limit.optional().meta({ description: 'How many (1-500, default 50).', example: 50 }) }) },
    responses: { 200: json(reviewResponseSchema, 'The review list.') },
  });
};
