import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../redis-connection';
import type { RedisKeys } from '../queues';
import { API_KEY_FORMAT as KEY_FORMAT, type ApiKeyInfo, type Scope, SCOPES, apiKeyInfoSchema } from '../schemas';

/** last_used_at is refreshed at most this often, so authentication stays one read per request. */
const TOUCH_EVERY_MS = 60_000;

/** Writes a whole key record only when its id is free, in one step (concurrent gateways, readers). */
const ENSURE_SCRIPT = `
if redis.call('HSETNX', KEYS[1], 'secret_sha256', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'scopes', ARGV[3], 'created_at', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
return 1`;

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
    private readonly redis: RedisClient,
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

  /**
   * Makes a key chosen outside (BOOTSTRAP_API_KEY) valid: stores its hash under its id unless that id
   * already exists. Idempotent; never overwrites (a revoked key stays revoked, another key's id is an
   * error). Errors never contain the key.
   */
  async ensure(key: string, name: string, scopes: readonly Scope[]): Promise<{ id: string; status: 'created' | 'exists' | 'revoked' }> {
    const match = KEY_FORMAT.exec(key);
    if (!match) throw new Error('API key must look like trk_<16 hex chars>_<43 base64url chars>');
    const [, id, secret] = match as unknown as [string, string, string];
    const digest = sha256(secret).toString('hex');
    const ordered = SCOPES.filter((s) => scopes.includes(s)).join(',');
    const created = await this.redis.eval(ENSURE_SCRIPT, 2, this.keys.apiKey(id), this.keys.apiKeys, digest, name, ordered, new Date().toISOString(), id);
    if (created === 1) return { id, status: 'created' };
    const stored = await this.redis.hmget(this.keys.apiKey(id), 'secret_sha256', 'revoked_at');
    if (stored[0] !== digest) throw new Error(`API key id ${id} is already taken by another key`);
    return { id, status: stored[1] ? 'revoked' : 'exists' };
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
