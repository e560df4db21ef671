/**
 * The gateway's own pages, on its HTTP port: `/demo` (a live chat on the client
 * SDK) and `/dashboard` (the pool, live, from `/metrics` and `/ws/stats`), plus
 * their bundles under `/assets/`. Public, like `/metrics`: they show nothing the
 * public endpoints do not, and the demo needs a token to connect.
 */
import { type App, type HttpResponse, reply, trackAbort } from '../edge/uws.ts';
import { pageBundles, pageHtml } from './page-assets.ts';

const HEADERS = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };

export function mountPages(app: App, onError: (error: unknown) => void = () => {}): void {
  const page = (name: 'demo' | 'dashboard') => (res: HttpResponse) => {
    trackAbort(res);
    pageHtml(name).then(
      (html) => reply(res, 200, html.toString('utf8'), 'text/html; charset=utf-8', HEADERS),
      (error) => fail(res, error),
    );
  };
  app.get('/demo', page('demo'));
  app.get('/dashboard', page('dashboard'));

  app.get('/assets/:file', (res, req) => {
    const name = req.getParameter(0) ?? ''; // read now: req is only valid during this call
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
}

function contentType(name: string): string {
  return name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8';
}
