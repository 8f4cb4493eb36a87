import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../queues';
import { type ApiKeyInfo, type Scope, SCOPES, apiKeyInfoSchema } from '../schemas';

/** `trk_<16 hex id>_<43 base64url chars>`: the id finds the record, the secret proves possession. */
const KEY_FORMAT = /^trk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is refreshed at most this often, so authentication stays one read per request. */
const TOUCH_EVERY_MS = 60_000;

const sha256 = (secret: string) => createHash('sha256').update(secret).digest();

export interface AuthenticatedKey {
  id: string;
  name: string;
  scopes: Scope[];
}

function toInfo(id: string, hash: Record<string, string>): ApiKeyInfo {
  return apiKeyInfoSchema.parse({
    id,
    name: hash.name,
    scopes: (hash.scopes ?? '').split(',').filter(Boolean),
    created_at: hash.created_at,
    last_used_at: hash.last_used_at ?? null,
    revoked_at: hash.revoked_at ?? null,
  });
}

/**
 * API keys in Redis. A key is 32 random bytes shown once; only its SHA-256 is stored (the secret
 * has full entropy, so a slow password hash would add latency to every request and no safety).
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(name: string, scopes: readonly Scope[]): Promise<{ key: string; info: ApiKeyInfo }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = new Date().toISOString();
    const ordered = SCOPES.filter((s) => scopes.includes(s));
    await this.redis
      .multi()
      .hset(this.keys.apiKey(id), {
        name,
        scopes: ordered.join(','),
        secret_sha256: sha256(secret).toString('hex'),
        created_at: createdAt,
      })
      .sadd(this.keys.apiKeys, id)
      .exec();
    return { key: `trk_${id}_${secret}`, info: toInfo(id, { name, scopes: ordered.join(','), created_at: createdAt }) };
  }

  /** The key's identity when it exists, matches and is not revoked; null otherwise. */
  async authenticate(key: string): Promise<AuthenticatedKey | null> {
    const match = KEY_FORMAT.exec(key);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const hash = await this.redis.hgetall(this.keys.apiKey(id));
    if (!hash.secret_sha256 || hash.revoked_at) return null;
    const stored = Buffer.from(hash.secret_sha256, 'hex');
    const given = sha256(secret);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return null;
    const now = Date.now();
    if (!hash.last_used_at || now - Date.parse(hash.last_used_at) > TOUCH_EVERY_MS) {
      // Bookkeeping only: a failed write must not fail the request.
      this.redis.hset(this.keys.apiKey(id), 'last_used_at', new Date(now).toISOString()).catch(() => undefined);
    }
    const info = toInfo(id, hash);
    return { id, name: info.name, scopes: info.scopes };
  }

  async get(id: string): Promise<ApiKeyInfo | null> {
    const hash = await this.redis.hgetall(this.keys.apiKey(id));
    return hash.created_at ? toInfo(id, hash) : null;
  }

  async list(): Promise<ApiKeyInfo[]> {
    const ids = (await this.redis.smembers(this.keys.apiKeys)).sort();
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.apiKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids
      .map((id, i) => {
        const [err, hash] = replies[i] ?? [null, {}];
        if (err) throw err;
        return (hash as Record<string, string>).created_at ? toInfo(id, hash as Record<string, string>) : null;
      })
      .filter((info): info is ApiKeyInfo => info !== null)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Revokes a key for good; null when no such key, the record (with revoked_at) otherwise. */
  async revoke(id: string): Promise<ApiKeyInfo | null> {
    const existing = await this.get(id);
    if (!existing) return null;
    if (existing.revoked_at === null) await this.redis.hsetnx(this.keys.apiKey(id), 'revoked_at', new Date().toISOString());
    return this.get(id);
  }
}
