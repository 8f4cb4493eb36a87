import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { HttpError } from '../http-errors';

/** Everything the console loads comes from the gateway itself (no CDN, no font service). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // chart.js and Preact set style attributes from script
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Serves the built console (`npm run build` writes console/dist) at /console. */
export function consoleRouter(dir: string | null): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    next();
  });
  if (dir === null || !existsSync(join(dir, 'index.html'))) {
    router.use((_req, _res, next) => next(new HttpError(503, `the console is not built (no ${dir ?? 'console directory'}/index.html): run npm run build`)));
    return router;
  }
  // Hashed asset names never change content, so they may be cached for good; index.html never is.
  router.use(
    express.static(dir, {
      index: 'index.html',
      setHeaders: (res, path) => res.set('Cache-Control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
    }),
  );
  // a miss under /console is the console's 404, not an API call that needs a key
  router.use((req, _res, next) => next(new HttpError(404, `no console file ${req.path}`)));
  return router;
}
