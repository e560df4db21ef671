/**
 * A bare protocol client for tests, on the `ws` package: it records every frame
 * the gateway sends and lets a test wait for the one it expects.
 */
import WebSocket from 'ws';
import type { EventFrame, ServerFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { SseTestSocket } from './sse-test-socket.ts';

export class TestClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];
  /** Frames `next()` has returned: it never returns one twice. */
  private readonly taken = new WeakSet<ServerFrame>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      this.wakeAll();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wakeAll();
    });
  }

  /**
   * A WebSocket for a ws:// URL; an SSE stream + POSTs for an http:// one (its `/sse` endpoint).
   * `options`: the `ws` client's own (a CA for wss://, …), and `sseFetch` for the SSE requests.
   */
  static connect(
    url: string,
    headers: Record<string, string> = {},
    options: WebSocket.ClientOptions & { sseFetch?: typeof fetch } = {},
  ): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const { sseFetch, ...wsOptions } = options;
      // SseTestSocket has the part of ws's API this class uses.
      const ws = url.startsWith('http')
        ? (new SseTestSocket(url, headers, sseFetch) as unknown as WebSocket)
        : new WebSocket(url, { ...wsOptions, headers });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Connect and complete hello; returns the client and its welcome. */
  static async session(
    url: string,
    hello: Record<string, unknown>,
  ): Promise<{ client: TestClient; welcome: WelcomeFrame }> {
    const client = await TestClient.connect(url);
    client.send({ type: 'hello', ...hello });
    const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
    return { client, welcome };
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /**
   * The next unread frame matching `match`: the earliest one that no earlier `next()` returned
   * (a mailbox read by pattern), waiting for it if it has not arrived yet. So two calls with
   * the same matcher return two different frames, in arrival order.
   */
  async next<T extends ServerFrame>(match: (f: ServerFrame) => f is T, timeoutMs?: number): Promise<T>;
  async next(match: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  async next(match: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    const unread = () => this.frames.find((f) => !this.taken.has(f) && match(f));
    await this.until(() => unread() !== undefined, timeoutMs, 'frame');
    const frame = unread() as ServerFrame;
    this.taken.add(frame);
    return frame;
  }

  /**
   * The first frame since the socket opened matching `match` (waiting for it if none has
   * arrived yet), whether or not `next()` returned it already.
   */
  async first<T extends ServerFrame>(match: (f: ServerFrame) => f is T, timeoutMs?: number): Promise<T>;
  async first(match: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  async first(match: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    await this.until(() => this.frames.some(match), timeoutMs, 'frame');
    return this.frames.find(match) as ServerFrame;
  }

  events(channel?: string): EventFrame[] {
    return this.frames.filter(
      (f): f is EventFrame => f.type === 'event' && (!channel || f.channel === channel),
    );
  }

  waitForEvents(count: number, channel?: string, timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.events(channel).length >= count, timeoutMs, `${count} events`);
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed !== undefined, timeoutMs, 'close').then(() => this.closed!);
  }

  close(): void {
    this.ws.close();
  }

  /** Drop the TCP connection without a close frame, as a network failure would. */
  drop(): void {
    this.ws.terminate();
  }

  private until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3))}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Assert-friendly view: the IDs of events, in arrival order. */
export const ids = (events: EventFrame[]) => events.map((e) => e.id);
