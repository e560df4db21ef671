/**
 * CORS for the SSE fallback (docs/protocol.md §1.1): a page served from another origin
 * reads `GET /sse` and POSTs to `/sse/frames` with fetch, so both answer with the page's
 * origin in `Access-Control-Allow-Origin` — when ALLOWED_ORIGINS allows it, and also on the
 * 403 ORIGIN_NOT_ALLOWED itself, so the SDK can read why it was refused and stop instead of
 * retrying (the refusal says nothing the page could misuse). The POST's own headers
 * (`tether-connection`, `tether-seq`) make browsers ask first: OPTIONS is answered for both
 * routes. The origin is echoed, never `*`, and credentials are never allowed: the SDK sends
 * none (its token travels in the hello frame), so no page can ride on a user's cookies.
 * No `Access-Control-Expose-Headers`: the SDK reads the status, the body and `content-type`,
 * which CORS always exposes.
 */
import type { AllowedOrigins } from '../../limits/allowed-origins.ts';
import type { App, HttpResponse } from '../edge-port.ts';
import { reply } from '../uws.ts';
import { refuseOrigin } from '../ws-endpoint.ts';

/** Request headers a page may send (the SDK's, and `last-event-id` for a resuming stream). */
const ALLOWED_HEADERS = 'content-type, last-event-id, tether-connection, tether-seq';
/** How long a browser may keep a preflight's answer (Chromium caps it at 2 h). */
const PREFLIGHT_MAX_AGE_S = 600;

/** The CORS headers of a response to a request from `origin` ('' when not a browser's cross-origin request). */
export function corsHeaders(origin: string): Record<string, string> {
  return origin ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
}

/**
 * The checks every SSE route makes first: false when `origin` is refused (403 answered,
 * readable by the page).
 */
export function admitOrigin(res: HttpResponse, origin: string, origins: AllowedOrigins): boolean {
  if (origins.allows(origin)) return true;
  refuseOrigin(res, origin, corsHeaders(origin));
  return false;
}

/** Answer browsers' preflight for `paths`: 204 with what a page may send, or 403 for a refused origin. */
export function mountPreflight(app: App, paths: string[], origins: AllowedOrigins): void {
  for (const path of paths)
    app.options(path, (res, req) => {
      const origin = req.getHeader('origin');
      if (!admitOrigin(res, origin, origins)) return;
      reply(res, 204, '', 'text/plain', {
        ...corsHeaders(origin),
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      });
    });
}
