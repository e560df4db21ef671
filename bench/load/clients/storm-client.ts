/**
 * A Tether client that survives a server restart the way the SDK does: on an
 * unexpected close it reconnects after the SDK's delay — full-jitter backoff above a
 * floor of half the window (src/shared/backoff.ts) with the SDK's defaults, never sooner than the server's
 * `retryAfterMs` hint — and resumes its session with the last event ID it saw, so
 * the gateway replays what it missed. It counts distinct events (IDs strictly
 * increasing per channel) and duplicates, which is how the storm scenario finds
 * lost events.
 *
 * Not the SDK itself (packages/client): the SDK drops duplicates before the application
 * sees them, which would hide exactly what this client must count, and its actor,
 * heartbeats and offline queue per client would make the generators, not the
 * gateway, the limit of a 15K-client storm. The wire frames are the same.
 */
import WebSocket from 'ws';
import { CLIENT_DEFAULTS } from '../../../packages/client/src/client-options.ts';
import { backoffDelay } from '../../../src/shared/backoff.ts';
import { compareEventIds } from '../../../src/shared/frames.ts';
import { nowMs } from '../../lib/timing.ts';
import { generatorSocketOptions } from './bench-client.ts';

/** Give up after this many failed reconnects in a row, as the SDK does (the storm has its own deadline too). */
const MAX_ATTEMPTS = CLIENT_DEFAULTS.maxReconnectAttempts;

/** The gateway writes event frames as `{"type":"event","channel":…,"id":"…",…}` (src/core/event-frames.ts). */
const EVENT_PREFIX = '{"type":"event"';
const ID_FIELD = '"id":"';

function eventIdOf(text: string): string | undefined {
  const start = text.indexOf(ID_FIELD);
  if (start < 0) return undefined;
  const from = start + ID_FIELD.length;
  return text.slice(from, text.indexOf('"', from));
}

export interface StormClientOptions {
  url: string;
  localAddress: string;
  token: string;
  channel: string;
  /** The SDK's `backoffMaxMs` option. @defaultValue CLIENT_DEFAULTS.backoffMaxMs */
  backoffMaxMs?: number;
  /** Called with the epoch ms of each welcome that resumed the session. */
  onResumed(at: number): void;
}

export class StormClient {
  connected = false;
  resumed = false;
  resumeFailed = false;
  distinctEvents = 0;
  duplicates = 0;
  connectAttempts = 0;
  /** How the last socket ended: close code and the error code before it, if any. */
  lastEnd: string | undefined;
  /** How every socket ended, counted by `lastEnd`'s wording, or by the connect error's code. */
  readonly ends = new Map<string, number>();
  /** Past MAX_ATTEMPTS failed reconnects in a row: no more tries, as the SDK's `failed`. */
  gaveUp = false;
  private sessionId: string | undefined;
  private resumeToken: string | undefined;
  private lastId: string | undefined;
  private attempt = 0;
  /** The server's retryAfterMs from the error frame that preceded the close, if any. */
  private retryAfterMs = 0;
  private stopped = false;
  private lastError: string | undefined;
  private ws: WebSocket | undefined;
  private firstReady: ((error?: Error) => void) | undefined;

  private readonly backoff: { baseMs: number; maxMs: number; floor: number };

  constructor(private readonly options: StormClientOptions) {
    // The SDK's floor too (half the window): without it, connects refused while the gateway
    // restarts drew near-zero delays and spent attempts, so clients came back later than the SDK's.
    this.backoff = {
      baseMs: CLIENT_DEFAULTS.backoffBaseMs,
      maxMs: options.backoffMaxMs ?? CLIENT_DEFAULTS.backoffMaxMs,
      floor: CLIENT_DEFAULTS.backoffFloor,
    };
  }

  /** Connect, start a session and subscribe; resolves when subscribed. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstReady = (error) => (error ? reject(error) : resolve());
      this.open();
    });
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }

  private open(): void {
    this.connectAttempts++;
    const ws = new WebSocket(this.options.url, generatorSocketOptions(this.options.localAddress));
    this.ws = ws;
    let closed = false;
    const onGone = () => {
      if (closed) return;
      closed = true;
      this.connected = false;
      this.scheduleReconnect();
    };
    ws.once('open', () => ws.send(JSON.stringify(this.hello())));
    ws.on('message', (data: Buffer) => this.onFrame(ws, data.toString()));
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (!closed) this.countEnd(`error ${error.code ?? error.message}`);
      onGone();
    });
    ws.on('close', (code) => {
      this.lastEnd = `close ${code}${this.lastError ? ` ${this.lastError}` : ''}`;
      this.lastError = undefined;
      if (!closed) this.countEnd(this.lastEnd);
      onGone();
    });
  }

  private countEnd(why: string): void {
    this.ends.set(why, (this.ends.get(why) ?? 0) + 1);
  }

  private hello(): object {
    const { token, channel } = this.options;
    if (!this.sessionId) return { type: 'hello', token };
    const lastEventIds = this.lastId ? { [channel]: this.lastId } : undefined;
    return {
      type: 'hello',
      token,
      resume: { sessionId: this.sessionId, resumeToken: this.resumeToken, lastEventIds },
    };
  }

  private onFrame(ws: WebSocket, text: string): void {
    // Replays bring hundreds of events per client: read their ID without parsing the frame.
    if (text.startsWith(EVENT_PREFIX)) {
      this.onEvent(eventIdOf(text));
      return;
    }
    const frame = JSON.parse(text) as {
      type: string;
      channel?: string;
      id?: string;
      resumed?: boolean;
      channels?: { channel: string }[];
      sessionId?: string;
      resumeToken?: string;
      code?: string;
      retryAfterMs?: number;
    };
    if (frame.type === 'welcome') {
      this.connected = true;
      this.attempt = 0;
      const askedToResume = this.sessionId !== undefined;
      this.sessionId = frame.sessionId;
      this.resumeToken = frame.resumeToken;
      if (askedToResume && frame.resumed) {
        this.resumed = true;
        this.options.onResumed(nowMs());
        // As the SDK does: a channel the resumed session does not list (its subscribe had not
        // reached Redis when the gateway went down) is subscribed again from the last event seen.
        if (!frame.channels?.some((c) => c.channel === this.options.channel)) this.subscribeFromLast(ws);
      } else {
        // A fresh session: subscribe, from the last event seen if there was one.
        if (askedToResume) this.resumeFailed = true;
        this.subscribeFromLast(ws);
      }
    } else if (frame.type === 'subscribed') {
      this.firstReady?.();
      this.firstReady = undefined;
    } else if (frame.type === 'error') {
      this.retryAfterMs = frame.retryAfterMs ?? 0;
      this.lastError = frame.code;
      if (this.firstReady && frame.code !== 'RESUME_EXPIRED') {
        this.firstReady(new Error(`tether error ${frame.code}`));
        this.firstReady = undefined;
      }
    }
  }

  private subscribeFromLast(ws: WebSocket): void {
    const from = this.lastId ? `,"from":"${this.lastId}"` : '';
    ws.send(`{"type":"subscribe","channel":"${this.options.channel}"${from}}`);
  }

  private onEvent(id: string | undefined): void {
    if (id === undefined) return;
    if (this.lastId === undefined || compareEventIds(id, this.lastId) > 0) {
      this.lastId = id;
      this.distinctEvents++;
    } else {
      this.duplicates++;
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    if (this.firstReady) {
      this.firstReady(new Error('closed before the first subscription'));
      this.firstReady = undefined;
      return;
    }
    if (this.attempt >= MAX_ATTEMPTS) {
      this.gaveUp = true;
      return;
    }
    const delay = Math.max(this.retryAfterMs, backoffDelay(this.attempt++, this.backoff));
    this.retryAfterMs = 0;
    setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay).unref();
  }
}
