import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Express, Router } from 'express';
import { agentRouteDocs } from '../routes/agent.openapi';
import { alertRouteDocs } from '../routes/alerts.openapi';
import { explainRouteDocs } from '../routes/explain.openapi';
import { waitingRouteDocs } from '../routes/waiting.openapi';
import { learningRouteDocs } from '../routes/learning.openapi';
import { modelRouteDocs } from '../routes/models.openapi';
import { systemRouteDocs } from '../routes/system.openapi';
import { ticketRouteDocs } from '../routes/tickets.openapi';
import { v1RouteDocs } from '../routes/v1-tickets.openapi';
import { ApiDoc, type ApiDocContext, type RouteDocs } from './api-doc';

/** Every router's docs; a new router adds its `<name>.openapi.ts` export here (route-coverage.test.ts checks). */
const ROUTE_DOCS: RouteDocs[] = [systemRouteDocs, ticketRouteDocs, agentRouteDocs, alertRouteDocs, v1RouteDocs, learningRouteDocs, modelRouteDocs, explainRouteDocs, waitingRouteDocs];

const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

type Document = ReturnType<ApiDoc['document']>;
const built = new Map<string, Document>();

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with; once per
 * context (the served model's queue labels appear in it).
 */
export function openApiDocument(context: ApiDocContext = { queueLabels: null }): Document {
  const cacheKey = JSON.stringify(context);
  let document = built.get(cacheKey);
  if (!document) {
    const doc = new ApiDoc(context);
    for (const routeDocs of ROUTE_DOCS) routeDocs(doc);
    document = doc.document(VERSION);
    built.set(cacheKey, document);
  }
  return document;
}

interface PathMethods {
  pattern: RegExp;
  methods: string[];
}

/** What a `{parameter}` of a documented path becomes in its pattern. */
export const TEMPLATE_SEGMENT = '[^/]+';

/** The documented paths as patterns with their methods, for 405 answers. */
export function documentedPathMethods(document: Document): PathMethods[] {
  return Object.entries(document.paths ?? {}).map(([path, item]) => ({
    pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, TEMPLATE_SEGMENT)}/?$`),
    methods: Object.keys(item ?? {})
      .filter((k) => HTTP_METHODS.includes(k))
      .map((m) => m.toUpperCase()),
  }));
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Routers as createApp mounts them, so the routes the app serves can be listed. */
export const MOUNTED_ROUTERS = Symbol('mountedRouters');
export interface MountedRouter {
  base: string;
  router: Router;
}

interface RouteLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

/**
 * Every `METHOD path` the app serves, in OpenAPI path syntax (`/:id` → `/{id}`): the routers
 * createApp mounted, any route declared on the Express app itself, and the routes served outside Express.
 */
export function servedRoutes(app: { express: Express; outsideExpress: readonly string[] }): string[] {
  const appRouter = (app.express as unknown as { router: Router }).router;
  const mounted = [{ base: '', router: appRouter }, ...((app.express.locals as Record<symbol, unknown>)[MOUNTED_ROUTERS] as MountedRouter[])];
  const routes = new Set<string>(app.outsideExpress);
  for (const { base, router } of mounted) {
    for (const layer of router.stack as RouteLayer[]) {
      if (!layer.route || typeof layer.route.path !== 'string') continue;
      const tail = layer.route.path === '/' ? '' : layer.route.path;
      const path = `${base}${tail}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}') || '/';
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') routes.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return [...routes].sort();
}

/** Every `METHOD path` the document names. */
export function documentedRoutes(document = openApiDocument()): string[] {
  return Object.entries(document.paths ?? {})
    .flatMap(([path, item]) => Object.keys(item ?? {}).filter((k) => HTTP_METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}
