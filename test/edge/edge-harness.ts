/**
 * The edge tests run the same cases on every edge (like a client SDK tested over
 * every transport): a real app on a real port, real `ws` clients. TEST_EDGES
 * narrows the list (`TEST_EDGES=ws` where no native uWS build loads, e.g. Node 24
 * on glibc 2.36); otherwise both must load, or the uWS cases fail.
 */
import WebSocket from 'ws';
import type { App, EdgeImpl } from '../../src/edge/edge-port.ts';
import {
  closeListenSocket,
  createApp,
  type ListenSocket,
  listen,
  listeningPort,
} from '../../src/edge/uws.ts';

export function testedEdges(): EdgeImpl[] {
  const listed = process.env.TEST_EDGES?.split(',').filter((e): e is EdgeImpl => e === 'uws' || e === 'ws');
  return listed?.length ? listed : ['uws', 'ws'];
}

export interface Served {
  app: App;
  port: number;
  /** `ws://host:port` (add the path). */
  base: string;
  stop(): void;
}

/** An app on `impl` with `mount`'s routes, listening on a free port of `host`. */
export async function serve(impl: EdgeImpl, mount: (app: App) => void, host = '127.0.0.1'): Promise<Served> {
  const app = createApp(impl);
  mount(app);
  const socket: ListenSocket = await listen(app, host, 0);
  const port = listeningPort(socket);
  return { app, port, base: `ws://127.0.0.1:${port}`, stop: () => closeListenSocket(socket) };
}

export function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export interface Closed {
  code: number;
  reason: string;
}

/** Resolves when the client's connection ends, with what the client saw. */
export function closedOf(ws: WebSocket): Promise<Closed> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve({ code: 1006, reason: '' });
    ws.on('error', () => {}); // a cut connection may also report an error: the close says what matters
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/** The next `count` text messages the client receives. */
export function messages(ws: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const onMessage = (data: WebSocket.RawData) => {
      got.push(data.toString());
      if (got.length < count) return;
      ws.off('message', onMessage);
      resolve(got);
    };
    ws.on('message', onMessage);
  });
}

/** Poll `check` until it holds (bounded); for server-side effects of a client's act. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const text = (data: ArrayBuffer): string => Buffer.from(data).toString();
