/**
 * Node's built-in WebSocket (undici's, Node 22+), made to behave as socket-link.ts needs:
 *
 * - It has no `terminate()`, and once its close frame is out it waits for the peer's with no
 *   time limit: on a dead line the `bye`, or a socket given up after a heartbeat timeout, kept
 *   its TCP connection — and the Node process — alive until the kernel gave up. Undici's
 *   constructor takes a `dispatcher` (its `WebSocketInit`); one that passes the handshake to
 *   undici's global dispatcher and keeps the upgraded socket gives the WebSocket a
 *   `terminate()`, as `ws` has: the socket is destroyed and undici reports a close with 1006.
 * - Node 22's undici (6.x) fires `error` and never `close` when the connection cannot be made
 *   (refused, no route), its readyState left CONNECTING (nodejs/undici#3546, fixed in undici 7,
 *   Node 24's): the attempt waited for `upgradeTimeoutMs` or `connectTimeoutMs` instead of
 *   failing at once. The close it owes is given (1006), as a browser and `ws` give it.
 *
 * Elsewhere (browsers, `ws`, other runtimes) the constructor is returned as it is.
 */

/** Where undici keeps its global dispatcher (shared by every copy of undici in a process). */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const CONNECTING = 0;

interface Dispatcher {
  dispatch(options: unknown, handler: object): boolean;
}
interface UpgradedSocket {
  destroy(): void;
}
interface NodeWebSocket {
  readonly readyState: number;
  close(): void;
  terminate?: () => void;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  addEventListener(type: 'error' | 'close', listener: () => void): void;
}
// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[] (TS2545)
export type WebSocketClass = new (...args: any[]) => NodeWebSocket;

const made = new WeakMap<WebSocketClass, WebSocketClass>();

export function adaptNodeWebSocket(Impl: WebSocketClass): WebSocketClass {
  if ('terminate' in Impl.prototype || !globalDispatcher()) return Impl;
  let Adapted = made.get(Impl);
  if (!Adapted) {
    Adapted = class extends Impl {
      constructor(url: string) {
        let socket: UpgradedSocket | undefined;
        super(url, { dispatcher: keepingSocket((upgraded) => (socket = upgraded)) });
        // Before the upgrade there is no socket yet: close() fails the handshake.
        this.terminate = () => (socket ? socket.destroy() : this.close());
        let closed = false;
        this.addEventListener('close', () => (closed = true));
        this.addEventListener('error', () =>
          setTimeout(() => {
            if (!closed && this.readyState === CONNECTING) this.onclose?.({ code: 1006, reason: '' });
          }),
        );
      }
    };
    made.set(Impl, Adapted);
  }
  return Adapted;
}

function globalDispatcher(): Dispatcher | undefined {
  const dispatcher = (globalThis as Record<symbol, Partial<Dispatcher> | undefined>)[GLOBAL_DISPATCHER];
  return typeof dispatcher?.dispatch === 'function' ? (dispatcher as Dispatcher) : undefined;
}

/** The global dispatcher (read per request: an app may set another), noting the upgraded socket. */
function keepingSocket(keep: (socket: UpgradedSocket) => void): Dispatcher {
  // The socket is the last argument of both handler APIs: onUpgrade(status, headers, socket)
  // and, from undici 7, onRequestUpgrade(controller, status, headers, socket).
  const upgrades = new Set<PropertyKey>(['onUpgrade', 'onRequestUpgrade']);
  return {
    dispatch(options, handler) {
      const watched = new Proxy(handler, {
        get(target, key) {
          const value: unknown = Reflect.get(target, key);
          if (typeof value !== 'function') return value;
          if (!upgrades.has(key)) return value.bind(target);
          return (...args: unknown[]) => {
            keep(args[args.length - 1] as UpgradedSocket);
            return value.apply(target, args);
          };
        },
      });
      return (globalDispatcher() as Dispatcher).dispatch(options, watched);
    },
  };
}
