/**
 * A scripted WebSocket for SDK unit tests: the test plays the gateway — opens the
 * socket, sends frames, drops it — and reads what the client sent.
 */
import { afterEach, beforeEach } from 'vitest';
import { TetherClient } from '../../packages/client/src/index.ts';
import type { ErrorFrame, ServerFrame, WelcomeFrame } from '../../src/shared/frames.ts';

/** An `error` frame for `code`, with `fields` (ref, detail, retryable…) as the test needs. */
export function errorFrame(code: ErrorFrame['code'], fields: Partial<ErrorFrame> = {}): ErrorFrame {
  return {
    type: 'error',
    code,
    category: 'connection',
    message: code,
    recovery: 'as the registry says',
    retryable: false,
    correlationId: 'corr-1',
    ...fields,
  };
}

/** A `welcome` for a new session (`sess-1`), with `overrides`. */
export function welcomeFrame(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    type: 'welcome',
    sessionId: 'sess-1',
    resumeToken: 'rt-1',
    connectionId: 'c-1',
    correlationId: 'corr-1',
    userId: 'alice',
    resumed: false,
    recovered: true,
    channels: [],
    heartbeatMs: 30_000,
    maxMessageBytes: 65_536,
    resumeWindowMs: 120_000,
    serverTime: Date.now(),
    ...overrides,
  };
}

export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  closedByClient: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances = [];
  }

  static get last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // ---- the test's side ----

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame | object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  sentOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === type);
  }
}

/** Let the client's async socket opening (token, constructor lookup) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/** `client.connect()`, then play the gateway: open the socket and send `frame` (a welcome). */
export async function connectAndWelcome(
  client: { connect(): void },
  frame: WelcomeFrame = welcomeFrame(),
): Promise<FakeWebSocket> {
  client.connect();
  await settle();
  const socket = FakeWebSocket.last;
  socket.open();
  socket.receive(frame);
  return socket;
}

/**
 * TetherClient options for a client that talks to FakeWebSocket: random 0 with no backoff
 * floor (a dropped socket is reconnected at once), and an HTTP base nothing listens on
 * (readiness probes are refused at once).
 */
export const SCRIPTED_CLIENT = {
  url: 'ws://gateway.test/ws',
  WebSocket: FakeWebSocket,
  // The script is the WebSocket's: no SSE fallback behind a socket the test refuses.
  transport: 'websocket',
  random: () => 0,
  backoffFloor: 0,
  httpUrl: 'http://127.0.0.1:1',
} as const;

/**
 * A TetherClient on a fresh scripted socket for each test of the file (`FakeWebSocket.reset()`
 * first), disconnected after it: call once at the top level, then `client()` in the tests.
 */
export function scriptedClientPerTest(): () => TetherClient {
  let client: TetherClient | undefined;
  beforeEach(() => {
    FakeWebSocket.reset();
    client = new TetherClient({ ...SCRIPTED_CLIENT, token: 'tok' });
  });
  afterEach(() => client?.disconnect());
  return () => client as TetherClient;
}
