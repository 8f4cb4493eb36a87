import { z } from 'zod';
import { BREAKER_STATES, breakerSnapshotSchema } from '../store/worker-registry';

const count = z.number().int().min(0);

/** GET /health: liveness (always 200 while serving) plus the seed API's status fields. */
export const healthResponseSchema = z
  .object({
    status: z.literal('ok'),
    uptime_s: count,
    m1: z.enum(['ready', 'unavailable']).describe('the in-process n-gram model serving /v1: ready when the bundle loaded at start-up (or its last promotion); its weights stay loaded from the first /v1 request on'),
    m1_model_version: z.string().nullable(),
    m1_error: z.string().optional().describe('why the n-gram model is unavailable (no file system paths)'),
    m1_accuracy: z.number().nullable(),
    m2_broker: z.object({
      status: z.enum(['ok', 'no_workers', 'unreachable']),
      workers: count,
      encoder_breakers: z.record(z.enum(BREAKER_STATES), count).nullable(),
    }),
    redis: z.object({ status: z.enum(['ok', 'unreachable']), pending: count.nullable(), processed: count.nullable() }),
    m1_queue: count.nullable(),
  })
  .meta({ id: 'Health' });

/** GET /ready: 200 when Redis answers and a worker is alive, else 503. */
export const readyResponseSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    redis: z.enum(['ok', 'unreachable']),
    workers: count,
    model_versions: z.array(z.string()),
    encoder_breakers: z.array(
      z.object({ worker_id: z.string(), ...breakerSnapshotSchema.partial().shape, state: breakerSnapshotSchema.shape.state }),
    ),
    reason: z.string().optional(),
  })
  .meta({ id: 'Readiness' });
