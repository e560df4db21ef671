/**
 * A careful outside client of the Tether protocol (docs/protocol.md), written from the
 * docs alone: it keeps its session's resume token and the last event ID per channel,
 * resumes after any drop with full-jitter backoff, subscribes again with `from` when the
 * session is gone, notices a half-open socket by its own pings, and takes `after` as its
 * position when told `recovered: false`. It records everything the gateway sent, raw, so
 * the checker judges the gateway and not this client's deduplication.
 */
import WebSocket from 'ws';
import { backoffDelay } from '../../src/shared/backoff.ts';
import { compareEventIds } from '../../src/shared/identifiers.ts';

const PING_EVERY_MS = 2000;
/** Silence after which the socket counts as half-open (three pings unanswered). */
const SILENCE_LIMIT_MS = 6500;
/** From opening a socket to `welcome`; a stopped process accepts TCP but never answers. */
const HANDSHAKE_LIMIT_MS = 8000;
const BACKOFF = { baseMs: 200, maxMs: 3000 };

export interface GapReport {
  channel: string;
  /** The client's position when it was told. */
  position: string;
  after: string;
  at: number;
}

export interface Delivery {
  id: string;
  at: number;
}

interface Frame {
  type: string;
  [field: string]: unknown;
}

export class ChaosClient {
  readonly deliveries = new Map<string, Delivery[]>();
  readonly reports: GapReport[] = [];
  /** Where delivery started on each channel (the first `subscribed.after`). */
  readonly initial = new Map<string, string>();
  readonly positions = new Map<string, string>();
  /** The epoch (docs/protocol.md §5) each position belongs to, as welcome/subscribed gave it. */
  readonly epochs = new Map<string, string>();
  readonly errorCodes = new Map<string, number>();
  readonly closeCodes = new Map<number, number>();
  connects = 0;
  welcomes = 0;
  resumes = 0;
  private session: { sessionId: string; resumeToken: string } | undefined;
  private ws: WebSocket | undefined;
  private attempt = 0;
  private urlIndex: number;
  private online = true;
  private stopped = false;
  private lastHeardAt = 0;
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reportedThisConnection = new Set<string>();
  private refCount = 0;

  constructor(
    readonly name: string,
    private readonly urls: string[],
    private readonly token: string,
    readonly channels: string[],
    startAt = 0,
  ) {
    this.urlIndex = startAt % urls.length;
    for (const channel of channels) this.deliveries.set(channel, []);
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.welcomedOn === this.ws;
  }

  /** true once every channel has an active subscription on the current connection. */
  get subscribed(): boolean {
    return this.connected && this.channels.every((c) => this.active.has(c));
  }

  private welcomedOn: WebSocket | undefined;
  private readonly active = new Set<string>();

  start(): void {
    this.connect();
    this.timers.push(setInterval(() => this.heartbeat(), PING_EVERY_MS));
  }

  /** Drop the connection as a network would, and stay away until `goOnline()`. */
  goOffline(): void {
    this.online = false;
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
  }

  goOnline(): void {
    this.online = true;
    this.attempt = 0;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
  }

  private connect(): void {
    if (this.stopped || !this.online) return;
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const ws = new WebSocket(url, { handshakeTimeout: HANDSHAKE_LIMIT_MS });
    this.ws = ws;
    this.active.clear();
    this.reportedThisConnection.clear();
    this.connects++;
    this.lastHeardAt = Date.now();
    const handshake = setTimeout(() => {
      if (this.welcomedOn !== ws) ws.terminate();
    }, HANDSHAKE_LIMIT_MS);
    ws.on('open', () => {
      const resume = this.session && {
        ...this.session,
        lastEventIds: Object.fromEntries(this.positions),
        epochs: Object.fromEntries(this.epochs),
      };
      ws.send(JSON.stringify({ type: 'hello', token: this.token, ...(resume && { resume }) }));
    });
    ws.on('message', (data) => {
      if (this.ws !== ws) return;
      this.lastHeardAt = Date.now();
      this.onFrame(ws, JSON.parse(data.toString()) as Frame);
    });
    ws.on('error', () => {}); // 'close' follows
    ws.on('close', (code) => {
      clearTimeout(handshake);
      this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      if (this.ws === ws) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    this.welcomedOn = undefined;
    if (this.stopped || !this.online) return;
    this.urlIndex++; // another process, when there are several
    const delay = backoffDelay(this.attempt++, BACKOFF);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private heartbeat(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.welcomedOn !== ws) return;
    if (Date.now() - this.lastHeardAt > SILENCE_LIMIT_MS) {
      ws.terminate(); // half-open: nothing heard, not even pongs
      return;
    }
    ws.send(JSON.stringify({ type: 'ping', ts: Date.now() }));
  }

  /** Publish over the socket (when connected); `acks` counts the answers. */
  publish(channel: string, data: unknown): boolean {
    if (!this.connected) return false;
    this.ws?.send(JSON.stringify({ type: 'publish', ref: `p${++this.refCount}`, channel, data }));
    return true;
  }

  acks = 0;

  private onFrame(ws: WebSocket, frame: Frame): void {
    if (frame.type === 'welcome') this.onWelcome(ws, frame);
    else if (frame.type === 'subscribed') this.onSubscribed(frame);
    else if (frame.type === 'event') this.onEvent(frame);
    else if (frame.type === 'ack') this.acks++;
    else if (frame.type === 'error') {
      const code = String(frame.code);
      this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
    }
  }

  private onWelcome(ws: WebSocket, frame: Frame): void {
    this.welcomedOn = ws;
    this.welcomes++;
    this.attempt = 0;
    const resumed = frame.resumed === true;
    if (resumed) this.resumes++;
    this.session = { sessionId: String(frame.sessionId), resumeToken: String(frame.resumeToken) };
    const listed = new Set<string>();
    const entries = (frame.channels ?? []) as {
      channel: string;
      recovered: boolean;
      after: string;
      epoch: string;
    }[];
    for (const entry of entries) {
      listed.add(entry.channel);
      this.active.add(entry.channel);
      if (!entry.recovered) this.gap(entry.channel, entry.after);
      this.epochs.set(entry.channel, entry.epoch);
    }
    for (const channel of this.channels) {
      if (listed.has(channel)) continue;
      const from = this.positions.get(channel);
      const epoch = this.epochs.get(channel);
      ws.send(
        JSON.stringify({
          type: 'subscribe',
          ref: `s${++this.refCount}`,
          channel,
          ...(from && { from }),
          ...(from && epoch && { epoch }),
        }),
      );
    }
  }

  private onSubscribed(frame: Frame): void {
    const channel = String(frame.channel);
    const after = String(frame.after);
    this.active.add(channel);
    if (!this.initial.has(channel)) {
      this.initial.set(channel, after);
      this.positions.set(channel, after);
    }
    if (frame.recovered === false) this.gap(channel, after);
    this.epochs.set(channel, String(frame.epoch));
  }

  /** Told `recovered: false`: note it once per connection, and continue from `after`. */
  private gap(channel: string, after: string): void {
    if (this.reportedThisConnection.has(channel)) return;
    this.reportedThisConnection.add(channel);
    this.reports.push({ channel, position: this.positions.get(channel) ?? '0-0', after, at: Date.now() });
    this.positions.set(channel, after);
  }

  private onEvent(frame: Frame): void {
    const channel = String(frame.channel);
    const id = String(frame.id);
    this.deliveries.get(channel)?.push({ id, at: Date.now() });
    const position = this.positions.get(channel);
    if (position === undefined || compareEventIds(id, position) > 0) this.positions.set(channel, id);
  }
}
