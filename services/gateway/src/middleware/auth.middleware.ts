import type { Request, RequestHandler, Response } from 'express';
import { type ApiKeyStore, type Principal, SCOPES, type Scope } from '@triage/shared';
import { HttpError } from '../http-errors';

export type { Principal, Scope };

/** With AUTH=off an agent names itself in X-Agent-Id; the same characters as a request id. */
export const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

const BEARER = /^Bearer +([^\s]+) *$/i;

/** Set by createApp: per scope, what runs once a request has been let in (the rate limiter). */
export const AFTER_SCOPE = Symbol('afterScope');
export type AfterScope = (scope: Scope, req: Request, res: Response, next: (err?: unknown) => void) => void;

export interface AuthenticateOptions {
  mode: 'on' | 'off';
  apiKeys: ApiKeyStore;
}

const unauthorized = (message: string) => new HttpError(401, message, undefined, { 'WWW-Authenticate': 'Bearer realm="triage"' });

/**
 * Establishes `res.locals.principal`. AUTH=on: a Bearer API key, else 401. AUTH=off: every
 * request may do everything, and an agent may name itself in X-Agent-Id (absent → 'anonymous').
 */
export function authenticate({ mode, apiKeys }: AuthenticateOptions): RequestHandler {
  if (mode === 'off') {
    return (req, res, next) => {
      const agentId = req.get('x-agent-id');
      if (agentId !== undefined && !AGENT_ID.test(agentId)) {
        return next(new HttpError(400, 'invalid X-Agent-Id header: 1-128 letters, digits or "_.:@-"'));
      }
      const principal: Principal = { id: agentId ?? 'anonymous', scopes: [...SCOPES], via: agentId === undefined ? 'open' : 'header' };
      res.locals.principal = principal;
      next();
    };
  }
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined) return next(unauthorized('missing API key: send "Authorization: Bearer <key>"'));
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) return next(unauthorized('malformed Authorization header: expected "Bearer <key>"'));
    const key = await apiKeys.authenticate(token);
    if (!key) return next(unauthorized('unknown or revoked API key'));
    const principal: Principal = { id: key.id, scopes: key.scopes, via: 'key' };
    res.locals.principal = principal;
    next();
  };
}

/** The caller of this request; `authenticate` runs before every route that asks. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: no principal (authenticate() must run before the routes)');
  return principal;
}

/**
 * Lets the request through when its principal holds one of `scopes` (403 otherwise), then
 * applies that scope's rate limit.
 */
export function requireScope(...scopes: [Scope, ...Scope[]]): RequestHandler {
  const names = scopes.map((s) => `'${s}'`).join(' or ');
  return (req, res, next) => {
    const granted = scopes.find((scope) => principalOf(res).scopes.includes(scope));
    if (granted === undefined) {
      return next(new HttpError(403, `this API key lacks the ${names} scope`, undefined, {
        'WWW-Authenticate': `Bearer realm="triage", error="insufficient_scope", scope="${scopes.join(' ')}"`,
      }));
    }
    res.locals.scope = granted;
    const after = (req.app.locals as Record<symbol, unknown>)[AFTER_SCOPE] as AfterScope | undefined;
    if (after) after(granted, req, res, next);
    else next();
  };
}

/** True when the principal may act on anything a `scope` holder may (used for "own tickets only" reads). */
export const hasScope = (res: Response, scope: Scope): boolean => principalOf(res).scopes.includes(scope);
