import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Readiness as the worker sees it: the triage worker is consuming and Redis answers. */
export interface Readiness {
  ready: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  register: Registry;
  /** Until the worker has started this reports not ready; while it stops, too. */
  readiness: () => Readiness;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

function send(res: import('node:http').ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

/**
 * The worker's own HTTP port (WORKER_METRICS_PORT): /metrics for Prometheus, /health for the
 * liveness probe (the event loop answers), /ready for the readiness probe. Plain node:http —
 * three routes do not need a framework in the worker.
 */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method_not_allowed', message: 'only GET' });
    if (path === '/metrics') {
      options.register.metrics().then(
        (body) => send(res, 200, options.register.contentType, body),
        (err: Error) => json(res, 500, { error: 'metrics_failed', message: err.message }),
      );
      return;
    }
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (path === '/ready') {
      const readiness = options.readiness();
      return json(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not_ready', ...readiness });
    }
    json(res, 404, { error: 'not_found', message: `no route ${path}; try /metrics, /health or /ready` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
