import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import express, { Router } from 'express';

// Only the package's directory: its main module evaluates the 1.7 MB browser bundle in Node
// (+12 MB RSS for a gateway that only serves the files).
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** The page loads Swagger UI's own files from /docs/* (served from the npm package, no CDN). */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });`;

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Triage API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>${INIT_SCRIPT}</script>
</body>
</html>
`;

// helmet's default CSP forbids inline scripts; this page allows exactly its own one by hash.
const INIT_HASH = createHash('sha256').update(INIT_SCRIPT).digest('base64');
const PAGE_CSP = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${INIT_HASH}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'self'",
].join('; ');

/** GET /openapi.json (built once at start-up) and Swagger UI at /docs. Both open. */
export function docsRouter(document: object): Router {
  const router = Router();
  const body = JSON.stringify(document);

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });

  router.get('/docs', (_req, res) => {
    res.set('Content-Security-Policy', PAGE_CSP).type('html').send(PAGE);
  });
  router.use('/docs', express.static(SWAGGER_UI_DIR, { index: false, fallthrough: true, maxAge: '1h' }));

  return router;
}
