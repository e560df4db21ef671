/**
 * An SSE stream read as bytes off the socket (node:http, no fetch in between), so a test sees
 * the response's headers and its bytes on the wire, and decodes a gzip stream itself, chunk by
 * chunk as it arrives: a message held in the gateway's compressor would never show up here.
 */
import { request } from 'node:http';
import { createGunzip } from 'node:zlib';

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  /** A comment-only message (the keep-alive). */
  comment: boolean;
}

export class RawSseStream {
  readonly messages: SseMessage[] = [];
  /** Every byte of the body as it came (compressed or not). */
  readonly wire: Buffer[] = [];
  /** Bytes of the body once decoded: the SSE text itself. */
  textBytes = 0;
  private text = '';
  private waiters: (() => void)[] = [];
  private ended = false;
  connection = '';

  private constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    private readonly url: string,
    private readonly abort: () => void,
  ) {}

  static open(url: string, headers: Record<string, string> = {}): Promise<RawSseStream> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        const stream = new RawSseStream(res.statusCode ?? 0, res.headers, url, () => req.destroy());
        const decoded = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
        res.on('data', (chunk: Buffer) => stream.wire.push(chunk));
        decoded.on('data', (chunk: Buffer) => stream.feed(chunk.toString('utf8')));
        decoded.on('end', () => stream.end());
        decoded.on('error', () => stream.end());
        res.on('close', () => stream.end());
        resolve(stream);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The next message (after `from`) that `match`es; waits until it comes or the stream ends. */
  async next(match: (m: SseMessage) => boolean, from = 0): Promise<SseMessage> {
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      if (this.ended) throw new Error('the stream ended first');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The frame (JSON) of the next data message whose frame has `type`. */
  async frame<T = Record<string, unknown>>(type: string, from = 0): Promise<T> {
    const found = await this.next((m) => !m.comment && m.event === 'message' && frameType(m) === type, from);
    return JSON.parse(found.data) as T;
  }

  /** POST frames to the stream's connection. */
  post(frames: unknown[], headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.url}/frames`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'tether-connection': this.connection, ...headers },
      body: frames.map((f) => JSON.stringify(f)).join('\n'),
    });
  }

  /** Resolves when the body ended (the gateway closed the stream). */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.abort();
  }

  get wireBytes(): number {
    return this.wire.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  private feed(text: string): void {
    this.textBytes += Buffer.byteLength(text);
    this.text += text;
    for (let end = this.text.indexOf('\n\n'); end >= 0; end = this.text.indexOf('\n\n')) {
      this.messages.push(parse(this.text.slice(0, end)));
      this.text = this.text.slice(end + 2);
    }
    const open = this.messages.find((m) => m.event === 'open');
    if (open && !this.connection)
      this.connection = (JSON.parse(open.data) as { connection: string }).connection;
    this.wake();
  }

  private end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/** One message block, read as the WHATWG event-stream rules read it: `data` lines join with "\n". */
function parse(block: string): SseMessage {
  const message: SseMessage = { event: 'message', data: '', comment: true };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    message.comment = false;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const raw = colon < 0 ? '' : line.slice(colon + 1);
    const value = raw.startsWith(' ') ? raw.slice(1) : raw;
    if (field === 'event') message.event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') message.id = value;
  }
  message.data = data.join('\n');
  return message;
}

function frameType(message: SseMessage): unknown {
  try {
    return (JSON.parse(message.data) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}
