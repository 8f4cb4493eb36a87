import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { type ApiKeyStore, type Principal, SCOPES, type Scope } from '@triage/shared';
import { HttpError } from '../http-errors';
import type { RateLimit } from './rate-limit.middleware';

export type { Principal, Scope };

/** With AUTH=off an agent names itself in X-Agent-Id; the same characters as a request id. */
export const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

const BEARER = /^Bearer +([^\s]+) *$/i;

/** Set by createApp: the rate limit that runs once a scope has let a request in. */
export const SCOPE_RATE_LIMIT = Symbol('scopeRateLimit');

export interface AuthenticateOptions {
  mode: 'on' | 'off';
  apiKeys: ApiKeyStore;
}

const unauthorized = (message: string) => new HttpError(401, message, undefined, { 'WWW-Authenticate': 'Bearer realm="triage"' });

/**
 * Who sent a request (throws the 400/401 otherwise). AUTH=on: a Bearer API key. AUTH=off: every
 * request may do everything, and an agent may name itself in X-Agent-Id (absent → 'anonymous').
 */
export async function identify({ mode, apiKeys }: AuthenticateOptions, headers: IncomingHttpHeaders): Promise<Principal> {
  if (mode === 'off') {
    const agentId = headers['x-agent-id'] as string | undefined;
    if (agentId !== undefined && !AGENT_ID.test(agentId)) throw new HttpError(400, 'invalid X-Agent-Id header: 1-128 letters, digits or "_.:@-"');
    return { id: agentId ?? 'anonymous', scopes: [...SCOPES], via: agentId === undefined ? 'open' : 'header' };
  }
  const header = headers.authorization;
  if (header === undefined) throw unauthorized('missing API key: send "Authorization: Bearer <key>"');
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) throw unauthorized('malformed Authorization header: expected "Bearer <key>"');
  const key = await apiKeys.authenticate(token);
  if (!key) throw unauthorized('unknown or revoked API key');
  return { id: key.id, scopes: key.scopes, via: 'key' };
}

/** Establishes `res.locals.principal` (see identify). */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  return (req, res, next) => {
    identify(options, req.headers).then((principal) => {
      res.locals.principal = principal;
      next();
    }, next);
  };
}

/** The caller of this request; `authenticate` runs before every route that asks. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: no principal (authenticate() must run before the routes)');
  return principal;
}

/** The first of `scopes` the principal holds; 403 when it holds none. */
export function grantScope(principal: Principal, scopes: readonly [Scope, ...Scope[]]): Scope {
  const granted = scopes.find((scope) => principal.scopes.includes(scope));
  if (granted !== undefined) return granted;
  throw new HttpError(403, `this API key lacks the ${scopes.map((s) => `'${s}'`).join(' or ')} scope`, undefined, {
    'WWW-Authenticate': `Bearer realm="triage", error="insufficient_scope", scope="${scopes.join(' ')}"`,
  });
}

/**
 * Lets the request through when its principal holds one of `scopes` (403 otherwise), then
 * applies that scope's rate limit.
 */
export function requireScope(...scopes: [Scope, ...Scope[]]): RequestHandler {
  return (req, res, next) => {
    const principal = principalOf(res);
    const granted = grantScope(principal, scopes);
    res.locals.scope = granted;
    const rateLimit = (req.app.locals as Record<symbol, unknown>)[SCOPE_RATE_LIMIT] as RateLimit | undefined;
    if (!rateLimit) return next();
    rateLimit(granted, principal, req.socket.remoteAddress).then((headers) => {
      res.set(headers);
      next();
    }, next);
  };
}

/** True when the principal may act on anything a `scope` holder may (used for "own tickets only" reads). */
export const hasScope = (res: Response, scope: Scope): boolean => principalOf(res).scopes.includes(scope);
