import { z } from 'zod';

/**
 * What an API key may do. `client` submits tickets and reads its own; `agent` works the queue
 * and reads any ticket; `admin` operates the service (stats, models, keys, /metrics).
 * Scopes do not imply each other: a key holds every scope it needs.
 */
export const SCOPES = ['client', 'agent', 'admin'] as const;
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

/** `trk_<16 hex id>_<43 base64url chars>`: the id finds the record, the secret proves possession. */
export const API_KEY_FORMAT = /^trk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** How the principal of a request was established. */
export const PRINCIPAL_VIA = ['key', 'header', 'open'] as const;
export type PrincipalVia = (typeof PRINCIPAL_VIA)[number];

export interface Principal {
  /** The API key id, or with AUTH=off the X-Agent-Id header ('anonymous' when absent). */
  id: string;
  scopes: Scope[];
  via: PrincipalVia;
}

export const apiKeyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'an API key id is 16 hex characters');

export const apiKeyNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x20-\x7e]+$/, 'printable ASCII');

/** An API key as listed: everything but the secret, which is stored only as a hash. */
export const apiKeyInfoSchema = z.object({
  id: apiKeyIdSchema,
  name: z.string(),
  scopes: z.array(scopeSchema).min(1),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime().nullable(),
  revoked_at: z.iso.datetime().nullable(),
});
export type ApiKeyInfo = z.infer<typeof apiKeyInfoSchema>;

export const createApiKeyRequestSchema = z.strictObject({
  name: apiKeyNameSchema,
  scopes: z.array(scopeSchema).min(1).max(SCOPES.length),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;
