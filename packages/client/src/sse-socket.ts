/**
 * The gateway's fallback transport as a WebSocket (WebSocketLike): frames come down a
 * server-sent-events stream (`GET /sse`) read with `fetch` streaming — so it runs in
 * browsers and in Node 20+ alike, and can send `Last-Event-ID` itself — and go up by
 * `POST /sse/frames`, one request at a time so they arrive in the order sent (frames that
 * wait meanwhile go together, one per line). A stream that has POSTed nothing for half the
 * idle timeout its `open` event names POSTs an empty body, so the gateway does not drop it
 * for silence — whatever the client's heartbeat settings, and while it waits for its
 * `welcome` in the admission queue too. The wire format: docs/protocol.md §1.1.
 *
 * @example
 * const client = new TetherClient({ url: 'wss://gateway.example.com/ws', transport: 'sse' });
 */
import { errorSpec, isErrorCode } from './shared.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_POST_BYTES,
  keepAliveAfterMs,
  parseSseMessage,
  takePostBody,
} from './sse-wire.ts';
import { OPEN, type WebSocketLike } from './websocket-like.ts';

const CONNECTING = 0;
const CLOSING = 2;
const CLOSED = 3;
/** What a WebSocket reports for a connection lost without a close frame (RFC 6455 §7.1.5). */
const ABNORMAL_CLOSURE = 1006;
/** The close code of a refusal the gateway answered over HTTP, with a coded body (RFC 6455 §7.4.1). */
const POLICY_VIOLATION = 1008;

export interface SseSocketOptions {
  /** Sent as `Last-Event-ID`: channel positions a resume hello on this stream starts from. */
  lastEventId?: string;
  fetch?: typeof fetch;
}

export class SseSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** The latest SSE `id`: every channel's position on this stream, as the gateway wrote it. */
  lastEventId: string;
  private readonly stream = new AbortController();
  /**
   * POSTs end only when the client drops the socket (`terminate`): on a dead line they would
   * never end; when the gateway ends the stream, the POST it refused still brings its answer.
   */
  private readonly posts = new AbortController();
  private readonly fetch: typeof fetch;
  private connection: string | undefined;
  /** The gateway's limit on a POST's body, from the `open` event. */
  private maxPostBytes = DEFAULT_MAX_POST_BYTES;
  /** How long the gateway waits for a POST before dropping the stream, from the `open` event. */
  private idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS;
  /** Set while a stream the gateway has ended is read to its end (closeSentDown). */
  private giveUp: ReturnType<typeof setTimeout> | undefined;
  /** Checks that the stream has POSTed within `keepAliveAfterMs` of the gateway's idle timeout. */
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private postedAt = 0;
  private outgoing: string[] = [];
  private posting = false;
  /** The last POST's number: the gateway handles POSTs in this order, whichever process they reach. */
  private seq = 0;
  private closeAfterPosts: { code: number; reason: string } | undefined;
  private closedWith: { code: number; reason: string } | undefined;

  /** `url`: the stream's, e.g. `https://example.com/sse`; frames go to `${url}/frames`. */
  constructor(
    private readonly url: string,
    options: SseSocketOptions = {},
  ) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.lastEventId = options.lastEventId ?? '';
    this.read().catch((error) => this.finish(ABNORMAL_CLOSURE, String(error)));
  }

  /** As a WebSocket's: an error before the stream opened, nothing once it closed. */
  send(data: string): void {
    if (this.readyState === CONNECTING) throw new Error('SseSocket is still connecting');
    if (this.readyState !== OPEN) return;
    this.outgoing.push(data);
    void this.post();
  }

  /** Ends the stream once the frames already sent are posted (so a `bye` arrives before the close). */
  close(code = 1000, reason = ''): void {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    if (this.posting || this.outgoing.length > 0) this.closeAfterPosts = { code, reason };
    else this.finish(code, reason);
  }

  /** Drop the stream at once, as a network failure would. */
  terminate(): void {
    this.posts.abort();
    this.finish(ABNORMAL_CLOSURE, '');
  }

  private async read(): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const response = await this.fetch(this.url, { headers, cache: 'no-store', signal: this.stream.signal });
    if (
      !response.ok ||
      !response.body ||
      !response.headers.get('content-type')?.startsWith('text/event-stream')
    ) {
      await this.refused(response, `GET ${this.url}`);
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
    }
    const ended = this.closedWith ?? { code: ABNORMAL_CLOSURE, reason: '' };
    this.finish(ended.code, ended.reason);
  }

  /**
   * One SSE message (the gateway writes `\n` line ends only; a frame with line breaks comes as
   * several `data` lines, which parseSseMessage joins with `\n`, as the WHATWG rules do).
   */
  private dispatch(message: string): void {
    const { event, data, id } = parseSseMessage(message);
    if (id !== undefined) this.lastEventId = id;
    if (event === 'open') {
      const open = JSON.parse(data) as { connection: string; maxPostBytes?: number; idleTimeoutMs?: number };
      this.connection = open.connection;
      if (open.maxPostBytes !== undefined) this.maxPostBytes = open.maxPostBytes;
      this.readyState = OPEN;
      this.idleTimeoutMs = open.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
      this.keepHeard(this.idleTimeoutMs);
      this.onopen?.({});
    } else if (event === 'close') {
      this.closedWith = JSON.parse(data) as { code: number; reason: string };
    } else if (data && this.readyState !== CLOSED) {
      this.onmessage?.({ data });
    }
  }

  /** POST an empty body whenever nothing was POSTed for `keepAliveAfterMs(idleTimeoutMs)`. */
  private keepHeard(idleTimeoutMs: number): void {
    const quietMs = keepAliveAfterMs(idleTimeoutMs);
    this.postedAt = Date.now();
    this.keepAlive = setInterval(() => {
      if (this.posting || this.outgoing.length > 0 || Date.now() - this.postedAt < quietMs) return;
      this.outgoing.push(''); // an empty body: heard, and no frame for the gateway to handle
      void this.post();
    }, quietMs / 4);
  }

  private async post(): Promise<void> {
    if (this.posting || this.outgoing.length === 0 || !this.connection) return;
    this.posting = true;
    this.postedAt = Date.now();
    const body = takePostBody(this.outgoing, this.maxPostBytes);
    try {
      const response = await this.fetch(`${this.url}/frames`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          'tether-connection': this.connection,
          'tether-seq': String(++this.seq),
        },
        body,
        signal: this.posts.signal,
      });
      // A refused POST (the stream is gone): what was sent is lost, so is this stream.
      if (!response.ok && response.status !== 413) await this.refused(response, 'POST', this.closeSentDown());
    } catch (error) {
      this.finish(ABNORMAL_CLOSURE, String(error));
    } finally {
      this.posting = false;
    }
    if (this.outgoing.length > 0) void this.post();
    else if (this.closeAfterPosts) this.finish(this.closeAfterPosts.code, this.closeAfterPosts.reason);
  }

  /**
   * An HTTP refusal ends the socket: with its code as the close reason when the gateway's
   * body names one that retrying cannot cure (ORIGIN_NOT_ALLOWED: the browser would only see a
   * WebSocket upgrade fail, but fetch reads the 403), else as a lost connection, which resumes.
   */
  private async refused(response: Response, what: string, onUnknown?: () => void): Promise<void> {
    const code = await response
      .json()
      .then((body: { error?: unknown }) => body?.error)
      .catch(() => undefined);
    if (typeof code === 'string' && isErrorCode(code) && !errorSpec(code).retryable)
      this.finish(errorSpec(code).closeCode ?? POLICY_VIOLATION, code);
    else if (code === 'SSE_CONNECTION_UNKNOWN' && onUnknown) onUnknown();
    else this.finish(ABNORMAL_CLOSURE, `${what}: HTTP ${response.status}`);
  }

  /**
   * A POST found no stream (404 SSE_CONNECTION_UNKNOWN) while this one is still being read: the
   * gateway has ended it — a slow consumer (4008), a restart, a takeover — and what it wrote
   * before, its close event last, is still on its way down, behind a backlog on a slow link.
   * Dropping the stream now would throw that away and report a lost connection instead of the
   * gateway's code. So nothing more is POSTed (as a closing WebSocket sends nothing), the
   * stream is read to its end, and it is given up (1006) only if it has not ended within the
   * gateway's own idle timeout; a dead line is still found by the client's heartbeat first.
   */
  private closeSentDown(): (() => void) | undefined {
    if (this.readyState !== OPEN) return undefined;
    return () => {
      if (this.readyState !== OPEN) return;
      this.readyState = CLOSING;
      clearInterval(this.keepAlive);
      this.outgoing = [];
      this.giveUp = setTimeout(() => this.finish(ABNORMAL_CLOSURE, 'POST: HTTP 404'), this.idleTimeoutMs);
    };
  }

  private finish(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    clearInterval(this.keepAlive);
    clearTimeout(this.giveUp);
    this.outgoing = [];
    this.stream.abort();
    this.onclose?.({ code, reason });
  }
}
