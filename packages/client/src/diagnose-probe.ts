/**
 * The throwaway connection behind `diagnose()`: opens a socket (WebSocket or the SSE
 * fallback), says hello, pings, and waits for frames one at a time. It never throws at the caller — each step
 * returns what it saw — and a frame that is not JSON is skipped, not fatal.
 */

import { classifyClose } from './classify-close.ts';
import type { ResolvedOptions } from './client-options.ts';
import { type RoundTrip, roundTrip } from './round-trip.ts';
import type { QueuedFrame, ServerFrame, WelcomeFrame } from './shared.ts';
import { SseSocket } from './sse-socket.ts';
import { TetherClientError } from './tether-client-error.ts';
import type { TransportName } from './transport-choice.ts';
import { resolveWebSocket, type WebSocketLike } from './websocket-like.ts';

export interface UpgradeOutcome {
  ok: boolean;
  ms: number;
  detail: string;
}

/** How hello ended: welcomed, refused (error frame or close), or still waiting when time ran out. */
export type HelloOutcome =
  | { kind: 'welcome'; ms: number; welcome: WelcomeFrame; queued?: QueuedFrame }
  | { kind: 'refused'; ms: number; error: TetherClientError; queued?: QueuedFrame }
  | { kind: 'timeout'; ms: number; queued?: QueuedFrame };

export class Probe {
  private frames: ServerFrame[] = [];
  private closed: { code: number; reason: string } | undefined;
  private wake: (() => void) | undefined;
  /** The latest `queued` frame: the gateway holds the probe in its admission queue. */
  private queued: QueuedFrame | undefined;

  private constructor(
    readonly ws: WebSocketLike | undefined,
    readonly upgrade: UpgradeOutcome,
  ) {
    if (!ws) return;
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') this.accept(event.data);
      this.wake?.();
    };
    ws.onclose = (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake?.();
    };
  }

  /** Open a probe on `transport`, as the client's own connection would (socket-link.ts). */
  static async open(options: ResolvedOptions, transport: TransportName, timeoutMs: number): Promise<Probe> {
    const started = Date.now();
    try {
      const ws =
        transport === 'sse'
          ? new SseSocket(options.sseUrl)
          : new (await resolveWebSocket(options.WebSocket))(options.url);
      const outcome = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(`no upgrade within ${timeoutMs} ms`), timeoutMs);
        const settle = (why: string | undefined) => {
          clearTimeout(timer);
          resolve(why);
        };
        ws.onopen = () => settle(undefined);
        ws.onclose = (event) => settle(`closed before open (code ${event.code})`);
        ws.onerror = () => {};
      });
      const ms = Date.now() - started;
      const opened = transport === 'sse' ? `SSE stream opened in ${ms} ms` : `upgraded in ${ms} ms`;
      if (outcome === undefined) return new Probe(ws, { ok: true, ms, detail: opened });
      ws.close();
      return new Probe(undefined, { ok: false, ms, detail: outcome });
    } catch (error) {
      return new Probe(undefined, { ok: false, ms: Date.now() - started, detail: (error as Error).message });
    }
  }

  /** Say hello with `token`; wait for welcome or a refusal — through any time in the admission queue. */
  async hello(token: string | undefined, timeoutMs: number): Promise<HelloOutcome> {
    const started = Date.now();
    this.ws?.send(JSON.stringify({ type: 'hello', token, client: { name: 'tether-js diagnose' } }));
    const frame = await this.next((f) => f.type === 'welcome' || f.type === 'error', timeoutMs);
    const ms = Date.now() - started;
    const queued = this.queued ? { queued: this.queued } : {};
    if (frame?.type === 'welcome') return { kind: 'welcome', ms, welcome: frame, ...queued };
    if (frame?.type === 'error')
      return { kind: 'refused', ms, error: TetherClientError.fromFrame(frame), ...queued };
    if (this.closed) {
      const error = classifyClose(this.closed.code, this.closed.reason);
      return { kind: 'refused', ms, error, ...queued };
    }
    return { kind: 'timeout', ms, ...queued };
  }

  async ping(timeoutMs: number): Promise<RoundTrip | undefined> {
    const ts = Date.now();
    this.ws?.send(JSON.stringify({ type: 'ping', ts }));
    const pong = await this.next((f) => f.type === 'pong' && f.ts === ts, timeoutMs);
    return pong?.type === 'pong' ? roundTrip(ts, pong.serverTime) : undefined;
  }

  /** `bye` first, so the probe's session ends at once instead of waiting out the resume window. */
  close(): void {
    try {
      if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ type: 'bye' }));
      this.ws?.close(1000, 'diagnose done');
    } catch {
      // already closed
    }
  }

  private accept(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return; // not a frame of this protocol: nothing to learn from it
    }
    if (frame.type === 'queued') this.queued = frame;
    else this.frames.push(frame);
  }

  private async next(
    match: (f: ServerFrame) => boolean,
    timeoutMs: number,
  ): Promise<ServerFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.closed || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
