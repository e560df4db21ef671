/**
 * The inspector bridge: the page an operator opens to watch live inspection, and
 * the WebSocket that page reads inspection events from (docs/observability.md,
 * "Watch the machines live"). @statelyai/inspect ships one, but it listens on
 * every interface with no host option, replays its buffer to anyone who
 * connects, accepts events from any client, and its page dials
 * `ws://localhost:PORT` — useless from another machine. This one:
 *
 * - listens on 127.0.0.1 ONLY: actor context shows user, session and correlation
 *   IDs. From elsewhere, tunnel: `ssh -L 4242:127.0.0.1:4242 <gateway host>`;
 * - serves a page that dials the host it was loaded from, so a tunnel (or any
 *   port forward) works as it is;
 * - takes the WebSocket of its own page only: listening on loopback keeps other machines
 *   out, not other sites — a browser lets any page it shows dial ws://127.0.0.1. A socket
 *   whose Origin is not the bridge's own (the Host it was dialled at), or whose Host is no
 *   loopback name (a DNS-rebound one), is refused 403; a tool that sends no Origin is taken;
 * - only sends: what pages send is ignored;
 * - replays the last `replay` events to a page that joins, so it learns the
 *   machines (their definitions come with the first event of each actor).
 */
import {
  type App,
  closeListenSocket,
  createApp,
  type ListenSocket,
  listen,
  listeningPort,
  reply,
  type Socket,
  sendText,
} from '../edge/uws.ts';

export interface InspectorBridgeOptions {
  /** Port to listen on (0: any free port). */
  port: number;
  /** Events replayed to a page that joins. @defaultValue 200 */
  replay?: number;
  /** The Stately inspector the page embeds. @defaultValue https://stately.ai/inspect */
  inspectorUrl?: string;
}

export interface InspectorBridge {
  readonly port: number;
  /** Send one serialized inspection event to every page (and keep it for later ones). */
  broadcast(event: string): void;
  stop(): void;
}

/** Loopback only, whatever HOST the gateway uses: see the module comment. */
export const INSPECTOR_HOST = '127.0.0.1';
const TOPIC = 'inspection';

export async function startInspectorBridge(options: InspectorBridgeOptions): Promise<InspectorBridge> {
  const replay = options.replay ?? 200;
  const page = bridgePage(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const recent: string[] = [];
  const pages = new Set<Socket<unknown>>();
  const app: App = createApp();
  app.ws('/*', {
    upgrade: (res, req, context) => {
      if (!ownPage(req.getHeader('origin'), req.getHeader('host'))) {
        reply(res, 403, "only the bridge's own page may read the inspection\n", 'text/plain; charset=utf-8');
        return;
      }
      res.upgrade(
        {},
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      pages.add(ws);
      ws.subscribe(TOPIC);
      for (const event of recent) sendText(ws, event);
    },
    message: () => {}, // a page has nothing to tell the gateway
    close: (ws) => pages.delete(ws),
  });
  app.get('/*', (res) => reply(res, 200, page, 'text/html; charset=utf-8'));
  const socket: ListenSocket = await listen(app, INSPECTOR_HOST, options.port);
  return {
    port: listeningPort(socket),
    broadcast(event) {
      recent.push(event);
      if (recent.length > replay) recent.shift();
      app.publish(TOPIC, event, false, false);
    },
    stop() {
      closeListenSocket(socket);
      for (const ws of pages) ws.close();
      pages.clear();
    },
  };
}

/** The names a browser reaches the bridge by, here or through a tunnel (`ssh -L`, port-forward). */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/** A socket from the bridge's own page, or from a tool (no Origin), dialled at a loopback name. */
export function ownPage(origin: string, host: string): boolean {
  if (!LOOPBACK_HOST.test(host)) return false;
  if (origin === '') return true;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed page, a file) or garbage
  }
}

/** The page: the Stately inspector in an iframe, fed the events this bridge sends. */
function bridgePage(inspectorUrl: string): string {
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>Tether — live Stately inspection</title>
  <style>html, body, iframe { margin: 0; height: 100%; width: 100%; border: 0; }</style>
</head>
<body>
  <iframe id="inspector" src="${inspectorUrl}"></iframe>
  <script>
    // The inspector says when it is ready; events until then are held.
    const frame = document.getElementById('inspector');
    const held = [];
    let ready = false;
    addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        ready = true;
        for (const event of held.splice(0)) frame.contentWindow.postMessage(event, '*');
      }
    });
    // The host this page came from: works through ssh -L or any port forward.
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/');
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (ready) frame.contentWindow.postMessage(event, '*');
      else held.push(event);
    };
  </script>
</body>
</html>`;
}
