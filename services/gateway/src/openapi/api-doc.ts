import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { type Scope, errorResponseSchema } from '@triage/shared';
import { JSON_BODY_LIMIT } from '../middleware/json-body.middleware';

/**
 * One route's documentation. Each router has a `<name>.openapi.ts` beside it exporting a
 * function that calls `doc.route(...)` for every route it serves; api-doc adds what every route
 * shares (security, 401/403/429/503, X-Request-Id, rate-limit headers, JSON body errors).
 */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path syntax: `/v2/tickets/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: [string, ...string[]];
  /** 'open' needs no key; otherwise any one of these scopes lets the request in. */
  access: 'open' | [Scope, ...Scope[]];
  /** The route answers 503 + Retry-After when Redis is unreachable (default: true). */
  needsRedis?: boolean;
  request?: Omit<NonNullable<RouteConfig['request']>, 'body'>;
  /** A JSON request body: documents it and the 400/413/415 that come with parsing it. */
  jsonBody?: { schema: z.ZodType; example?: unknown; description?: string; /** default true */ required?: boolean };
  responses: Record<number, ResponseConfig>;
}

export type RouteDocs = (doc: ApiDoc) => void;

const JSON_TYPE = 'application/json';
const SECURITY_SCHEME = 'apiKey';

const ref = (kind: 'headers' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** A JSON response: `json(schema, 'what it is', { headers, example })`. */
export function json(schema: z.ZodType, description: string, extra: { headers?: ResponseConfig['headers']; example?: unknown } = {}): ResponseConfig {
  return {
    description,
    ...(extra.headers ? { headers: extra.headers } : {}),
    content: { [JSON_TYPE]: { schema, ...(extra.example === undefined ? {} : { example: extra.example }) } },
  };
}

/** An error response (`{"error": "…", "details"?: […]}`). */
export const error = (description: string, example?: string, headers?: ResponseConfig['headers']): ResponseConfig =>
  json(errorResponseSchema, description, { ...(headers ? { headers } : {}), ...(example ? { example: { error: example } } : {}) });

/** Headers by name, for a response's `headers`: `headers('Location', 'Retry-After')`. */
export const headers = (...names: HeaderName[]): Record<string, { $ref: string }> => Object.fromEntries(names.map((n) => [n, ref('headers', n)]));

const HEADERS = {
  'X-Request-Id': { description: "The request's id (the caller's X-Request-Id when sane, else a UUID); it tags every log line of the request.", required: true, schema: { type: 'string' } },
  Location: { description: 'Where the created resource can be read.', required: true, schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
  RateLimit: {
    description: 'IETF draft-8 RateLimit header: the remaining quota (r) and seconds until it resets (t), e.g. `"client";r=599;t=60`. Absent when the scope is unlimited.',
    required: false,
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'IETF draft-8 RateLimit-Policy header: the quota (q) per window (w, seconds) for the scope, e.g. `"client";q=600;w=60`.',
    required: false,
    schema: { type: 'string' },
  },
  'Idempotent-Replayed': { description: '"true" when this answer replays an earlier request with the same Idempotency-Key.', required: false, schema: { type: 'string', const: 'true' } },
  'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750).', required: true, schema: { type: 'string' } },
} as const;
export type HeaderName = keyof typeof HEADERS;

/** Error answers every route of a kind shares, as plain OpenAPI objects (the Error schema by reference). */
const errorComponent = (description: string, example: string, ...withHeaders: HeaderName[]) => ({
  description,
  headers: headers('X-Request-Id', ...withHeaders),
  content: { [JSON_TYPE]: { schema: { $ref: '#/components/schemas/Error' }, example: { error: example } } },
});

const RESPONSES = {
  BadRequest: errorComponent('Invalid request (see `details`); nothing was changed.', 'validation failed'),
  Unauthorized: errorComponent('Missing, malformed, unknown or revoked API key.', 'missing API key: send "Authorization: Bearer <key>"', 'WWW-Authenticate'),
  Forbidden: errorComponent('The API key lacks the scope this route needs.', "this API key lacks the 'agent' scope", 'WWW-Authenticate'),
  TooManyRequests: errorComponent(
    'Rate limit of this key and scope exceeded.',
    "rate limit exceeded: 600 requests per 60 s for the 'client' scope",
    'Retry-After',
    'RateLimit',
    'RateLimit-Policy',
  ),
  ServiceUnavailable: errorComponent('Redis is unreachable; retry after Retry-After seconds.', 'service unavailable: storage is unreachable, retry later', 'Retry-After'),
  PayloadTooLarge: errorComponent(`The body is over ${JSON_BODY_LIMIT.text}.`, `request body too large (limit ${JSON_BODY_LIMIT.text})`),
  UnsupportedMediaType: errorComponent('The body is not application/json (utf-8), or its Content-Encoding is unsupported.', 'Content-Type must be application/json'),
};

export const API_DESCRIPTION = `Support-ticket triage: tickets in, a queue and an urgency out, the most urgent ticket to the next agent.

**Authentication.** Every route except \`/health\`, \`/ready\`, \`/openapi.json\` and \`/docs\` needs an API key:
\`Authorization: Bearer <key>\`. Keys hold scopes — \`client\` (submit tickets, read its own), \`agent\` (work the queue, read any ticket),
\`admin\` (operate the service) — and are made with \`npm run keys -- create --name <name> --scope <scope>\`. A missing or unknown key
gets 401, a key without the route's scope 403. With \`AUTH=off\` (local setups only) every request may do everything and an agent may
name itself in \`X-Agent-Id\`.

**Rate limits.** Per key and scope, shared by all gateway replicas: 429 with \`Retry-After\` once exceeded; \`RateLimit\` and
\`RateLimit-Policy\` headers (IETF draft-8) on every limited response.

**Errors.** Always JSON: \`{"error": "…", "details": [{"path": "…", "message": "…"}]}\` (details for validation errors). Bad input never
changes anything.`;

/** What the document depends on at run time. */
export interface ApiDocContext {
  /** The served model's queue labels (corrections must name one); null when the bundle did not load. */
  queueLabels: readonly string[] | null;
}

/** Collects the route docs and builds the OpenAPI 3.1 document. */
export class ApiDoc {
  readonly registry = new OpenAPIRegistry();

  constructor(readonly context: ApiDocContext) {
    this.registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key from `npm run keys -- create` (or the one `npm start` prints): `Authorization: Bearer trk_…`.',
    });
    for (const [name, header] of Object.entries(HEADERS)) this.registry.registerComponent('headers', name, header);
    // The shared error responses point at #/components/schemas/Error, which the first route error
    // built with error() (errorResponseSchema, meta id 'Error') puts there.
    for (const [name, response] of Object.entries(RESPONSES)) this.registry.registerComponent('responses', name, response);
  }

  route(route: RouteDoc): void {
    const secured = route.access !== 'open';
    const responses: Record<number, ResponseConfig> = { ...route.responses };
    const shared: Record<number, ReturnType<typeof ref>> = {};
    if (route.jsonBody) Object.assign(shared, { 400: ref('responses', 'BadRequest'), 413: ref('responses', 'PayloadTooLarge'), 415: ref('responses', 'UnsupportedMediaType') });
    if (secured) {
      // 400 too: with AUTH=off a malformed X-Agent-Id is refused.
      Object.assign(shared, {
        400: ref('responses', 'BadRequest'),
        401: ref('responses', 'Unauthorized'),
        403: ref('responses', 'Forbidden'),
        429: ref('responses', 'TooManyRequests'),
      });
    }
    if (route.needsRedis ?? true) shared[503] = ref('responses', 'ServiceUnavailable');
    for (const [status, response] of Object.entries(shared)) {
      if (!(status in responses)) (responses as Record<string, unknown>)[status] = response;
    }
    // Every answer carries X-Request-Id; limited routes also the RateLimit headers.
    const everyResponse = secured ? headers('X-Request-Id', 'RateLimit', 'RateLimit-Policy') : headers('X-Request-Id');
    for (const response of Object.values(responses)) {
      if ('description' in response) response.headers = { ...everyResponse, ...(response.headers as object) };
    }
    const scopes = secured ? (route.access as Scope[]) : [];
    this.registry.registerPath({
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      description: [route.description, secured ? `Scope: ${scopes.map((s) => `\`${s}\``).join(' or ')}.` : 'Open: no API key needed.']
        .filter(Boolean)
        .join('\n\n'),
      tags: route.tags,
      security: secured ? [{ [SECURITY_SCHEME]: scopes }] : [],
      ...(route.request || route.jsonBody
        ? {
            request: {
              ...route.request,
              ...(route.jsonBody
                ? {
                    body: {
                      required: route.jsonBody.required ?? true,
                      ...(route.jsonBody.description ? { description: route.jsonBody.description } : {}),
                      content: {
                        [JSON_TYPE]: { schema: route.jsonBody.schema, ...(route.jsonBody.example === undefined ? {} : { example: route.jsonBody.example }) },
                      },
                    },
                  }
                : {}),
            },
          }
        : {}),
      responses: responses,
    });
  }

  document(version: string) {
    const generator = new OpenApiGeneratorV31(this.registry.definitions);
    return generator.generateDocument({
      openapi: '3.1.0',
      info: { title: 'Triage API', version, description: API_DESCRIPTION, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
      servers: [{ url: '/' }],
    });
  }
}
