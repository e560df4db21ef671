/**
 * The gateway's own pages, on its HTTP port: `/` (a landing page linking the rest),
 * `/demo` (a live chat on the client SDK), `/dashboard` (the pool, live) and its
 * `/dashboard/history` (the last five minutes, kept by the process), the docs as
 * markdown under `/docs/`, the icon, and the bundles under `/assets/`. Public, like
 * `/metrics`: they show nothing the public endpoints do not, and the demo needs a token
 * to connect.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { PACKAGE_ROOT } from '../config/package-root.ts';
import { type App, type HttpResponse, reply, replyJson, trackAbort } from '../edge/uws.ts';
import { registry } from '../observability/metrics.ts';
import { HistorySampler, sampledMetricsText } from './dashboard/history-sampler.ts';
import { FAVICON_SVG } from './favicon.ts';
import { type PageName, pageBundles, pageHtml } from './page-assets.ts';

const HEADERS = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
const DOCS_DIR = `${PACKAGE_ROOT}/docs/`;

export interface Pages {
  /** Stop sampling the dashboard's history (the gateway is shutting down). */
  stop(): void;
}

/**
 * `gauges`: the gateway's own registry (src/observability/gateway-metrics.ts), where its
 * connections, sockets, pool state and queue are: the history samples them with the
 * process's counters, as `/metrics` renders them together.
 */
export function mountPages(app: App, gauges: Registry, onError: (error: unknown) => void = () => {}): Pages {
  const history = new HistorySampler(() => sampledMetricsText([registry, gauges]));
  history.start();
  const page = (name: PageName) => (res: HttpResponse) => {
    trackAbort(res);
    pageHtml(name).then(
      (html) => reply(res, 200, html.toString('utf8'), 'text/html; charset=utf-8', HEADERS),
      (error) => fail(res, error),
    );
  };
  app.get('/', page('landing'));
  app.get('/demo', page('demo'));
  app.get('/dashboard', page('dashboard'));
  app.get('/dashboard/history', (res) => {
    replyJson(res, 200, { intervalMs: history.intervalMs, samples: history.history() }, HEADERS);
  });
  const icon = (res: HttpResponse) =>
    reply(res, 200, FAVICON_SVG, 'image/svg+xml', { 'cache-control': 'max-age=86400' });
  app.get('/favicon.svg', icon);
  app.get('/favicon.ico', icon);

  app.get('/docs/:file', (res, req) => {
    const name = req.getParameter(0) ?? ''; // read now: req is only valid during this call
    trackAbort(res);
    readDoc(name)
      .then((text) =>
        text === undefined
          ? reply(res, 404, `no document ${name}\n`, 'text/plain; charset=utf-8', HEADERS)
          : reply(res, 200, text, 'text/markdown; charset=utf-8', HEADERS),
      )
      .catch((error) => fail(res, error));
  });

  app.get('/assets/:file', (res, req) => {
    const name = req.getParameter(0) ?? '';
    trackAbort(res);
    pageBundles()
      .then((bundles) => {
        const body = bundles.get(name);
        if (!body) reply(res, 404, `no asset ${name}\n`, 'text/plain; charset=utf-8', HEADERS);
        else reply(res, 200, Buffer.from(body).toString('utf8'), contentType(name), HEADERS);
      })
      .catch((error) => fail(res, error));
  });

  function fail(res: HttpResponse, error: unknown): void {
    onError(error);
    reply(res, 503, `${(error as Error).message}\n`, 'text/plain; charset=utf-8', HEADERS);
  }
  return { stop: () => history.stop() };
}

/** A markdown file of docs/, by exact name only (never a path). */
async function readDoc(name: string): Promise<string | undefined> {
  const docs = await readdir(DOCS_DIR);
  return docs.includes(name) && name.endsWith('.md') ? readFile(`${DOCS_DIR}${name}`, 'utf8') : undefined;
}

function contentType(name: string): string {
  return name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8';
}
