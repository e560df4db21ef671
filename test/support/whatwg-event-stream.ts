/**
 * A server-sent-events client that reads a stream by the WHATWG HTML rules ("Parsing an event
 * stream", §9.2.6), as a browser's EventSource does — not by what the gateway happens to write:
 * lines end at CRLF, LF or CR (a CR at a chunk's end waits to see if LF follows); a `data` field
 * adds its value and an LF to the data buffer; a blank line dispatches, the buffer less its last
 * LF; unknown fields are ignored; an `id` with NUL is ignored; what is left when the stream ends
 * is dropped. The npm `eventsource` package is not a dependency, so its rules are here. The
 * bytes come off node:http undecoded; UTF-8 decoding (a leading BOM dropped) is TextDecoder's.
 */
import { request } from 'node:http';

/** One dispatched event, as a MessageEvent would carry it. */
export interface EventStreamMessage {
  /** `message` unless the event named another. */
  type: string;
  data: string;
  lastEventId: string;
}

/** The parser on its own: feed it text, read `messages`. */
export class EventStreamParser {
  readonly messages: EventStreamMessage[] = [];
  /** The stream's last event ID string (set at each dispatch, kept across events). */
  lastEventId = '';
  private pending = '';
  private data = '';
  private eventType = '';
  private lastEventIdBuffer = '';

  feed(text: string): void {
    this.pending += text;
    let start = 0;
    for (let i = 0; i < this.pending.length; i++) {
      const c = this.pending[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === this.pending.length) break; // CRLF split across chunks?
      this.line(this.pending.slice(start, i));
      if (c === '\r' && this.pending[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.pending = this.pending.slice(start);
  }

  /** The stream ended: a last CR ended its line; an event not yet dispatched is dropped. */
  end(): void {
    if (this.pending.endsWith('\r')) this.line(this.pending.slice(0, -1));
    this.pending = '';
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) this.lastEventIdBuffer = value;
    // `retry` sets a reconnection time this client does not use; any other field is ignored.
  }

  private dispatch(): void {
    this.lastEventId = this.lastEventIdBuffer;
    if (this.data === '') {
      this.eventType = '';
      return;
    }
    const data = this.data.endsWith('\n') ? this.data.slice(0, -1) : this.data;
    this.messages.push({ type: this.eventType || 'message', data, lastEventId: this.lastEventId });
    this.data = '';
    this.eventType = '';
  }
}

/** A gateway's `GET /sse` read by EventStreamParser, with POSTs to the stream's `/sse/frames`. */
export class WhatwgSseStream {
  readonly parser = new EventStreamParser();
  connection = '';
  private ended = false;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly url: string,
    private readonly abort: () => void,
  ) {}

  static open(url: string, headers: Record<string, string> = {}): Promise<WhatwgSseStream> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        const stream = new WhatwgSseStream(url, () => req.destroy());
        const decoder = new TextDecoder('utf-8');
        res.on('data', (chunk: Buffer) => stream.feed(decoder.decode(chunk, { stream: true })));
        res.on('close', () => stream.end(decoder.decode()));
        resolve(stream);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get messages(): EventStreamMessage[] {
    return this.parser.messages;
  }

  /** The first message after `from` that `match`es; waits until it comes or the stream ends. */
  async next(
    match: (m: EventStreamMessage) => boolean,
    from = 0,
    timeoutMs = 5000,
  ): Promise<EventStreamMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      if (this.ended) throw new Error('the stream ended first');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; last messages: ${JSON.stringify(this.messages.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next frame of `type` (a `message` event's data, parsed), after message `from`. */
  async frame<T = Record<string, unknown>>(type: string, from = 0): Promise<T> {
    const found = await this.next((m) => m.type === 'message' && frameType(m.data) === type, from);
    return JSON.parse(found.data) as T;
  }

  /** POST frames (one per line) to the stream's connection. */
  async post(frames: unknown[]): Promise<void> {
    const response = await fetch(`${this.url}/frames`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'tether-connection': this.connection },
      body: frames.map((f) => JSON.stringify(f)).join('\n'),
    });
    if (response.status !== 204) throw new Error(`POST frames: HTTP ${response.status}`);
  }

  close(): void {
    this.abort();
  }

  private feed(text: string): void {
    this.parser.feed(text);
    const open = this.messages.find((m) => m.type === 'open');
    if (open && !this.connection)
      this.connection = (JSON.parse(open.data) as { connection: string }).connection;
    this.wake();
  }

  private end(text: string): void {
    this.parser.feed(text);
    this.parser.end();
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

function frameType(data: string): unknown {
  try {
    return (JSON.parse(data) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}
