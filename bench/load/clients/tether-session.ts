/**
 * Tether's wire protocol (docs/protocol.md) as the load generator speaks it, whatever
 * carries the frames (WebSocket: tether-client.ts; SSE + POST: tether-sse-client.ts):
 * hello with a JWT, wait for welcome, subscribe, then publish; events arrive as JSON text.
 * Relay = publish to a channel only this client subscribes to (`relay.<userId>`), so each
 * relayed message makes the full trip: gateway → Redis XADD + PUBLISH → gateway → client.
 */
import type { BenchClient, ClientHandlers, ClientOptions } from './bench-client.ts';
import { connectDeadline } from './bench-client.ts';
import { mintToken } from './tokens.ts';

const EVENT_PREFIX = '{"type":"event"';
const EVENT_PREFIX_BYTES = Buffer.from(EVENT_PREFIX);
const BATCH_PREFIX = '{"type":"batch"';

/** What a transport gives the session: send a frame's text, and end the connection. */
export interface FrameTransport {
  send(text: string): void;
  close(): Promise<void>;
  terminate(): void;
  readonly isOpen: boolean;
  bytesRead?(): number;
}

/** The session over one transport; the transport calls `opened`, `received`, `failed` and `closed`. */
export class TetherSession {
  readonly client: BenchClient;
  readonly ready: Promise<BenchClient>;
  private endedBecause: string | undefined;
  private isReady = false;
  private pendingSubscriptions: number;
  private readonly channels: string[];
  private resolve!: (client: BenchClient) => void;
  private reject!: (error: Error) => void;
  private readonly deadline: NodeJS.Timeout;
  private published = 0;

  static async hello(options: ClientOptions): Promise<string> {
    if (!options.jwtSecret) throw new Error('tether client needs a jwtSecret');
    const token = await mintToken(options.jwtSecret, options.userId);
    return JSON.stringify({ type: 'hello', token, ...(options.wire?.batch ? { batch: true } : {}) });
  }

  constructor(
    private readonly options: ClientOptions,
    private readonly handlers: ClientHandlers,
    private readonly transport: FrameTransport,
    private readonly helloFrame: string,
  ) {
    const relayChannel = `relay.${options.userId}`;
    this.channels = [options.subscribe, options.relay ? relayChannel : undefined].filter(
      (c): c is string => c !== undefined,
    );
    this.pendingSubscriptions = this.channels.length;
    this.ready = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.deadline = connectDeadline(
      options.timeoutMs,
      (e) => this.reject(e),
      () => transport.terminate(),
    );
    const session = this;
    this.client = {
      get endedBecause() {
        return session.endedBecause;
      },
      relay: (payload) => transport.send(this.publishFrame(relayChannel, payload)),
      publish: (channel, payload, dataJson) =>
        transport.send(
          dataJson === undefined
            ? this.publishFrame(channel, payload)
            : `{"type":"publish","channel":"${channel}","data":${dataJson}}`,
        ),
      ...(transport.bytesRead ? { bytesRead: () => transport.bytesRead?.() ?? 0 } : {}),
      get isOpen() {
        return transport.isOpen;
      },
      close: () => transport.close(),
      terminate: () => transport.terminate(),
    };
  }

  opened(): void {
    this.transport.send(this.helloFrame);
  }

  /**
   * A frame as the socket read it. A fan-out delivery is counted from its first bytes,
   * undecoded, as the raw client counts its own (raw-client.ts): the generator is what
   * limits fan-out on this box, so decoding every event to text would measure the client.
   */
  receivedBytes(data: Buffer): void {
    if (this.isReady && !this.options.relay && startsWith(data, EVENT_PREFIX_BYTES))
      this.handlers.delivered();
    else this.received(data.toString());
  }

  received(text: string): void {
    if (this.isReady) {
      // Hot path: fan-out only counts; relay needs the payload back.
      if (text.startsWith(BATCH_PREFIX)) {
        countBatch(text, this.handlers);
        return;
      }
      if (!text.startsWith(EVENT_PREFIX)) {
        if (text.startsWith('{"type":"error"')) this.endedBecause = text.slice(0, 300);
        return;
      }
      if (this.options.relay) this.handlers.relayed((JSON.parse(text) as { data: string }).data);
      else this.handlers.delivered();
      return;
    }
    const frame = JSON.parse(text) as { type: string; code?: string; message?: string };
    if (frame.type === 'welcome') {
      if (this.pendingSubscriptions === 0) this.becomeReady();
      for (const channel of this.channels) this.transport.send(`{"type":"subscribe","channel":"${channel}"}`);
    } else if (frame.type === 'subscribed') {
      if (--this.pendingSubscriptions === 0) this.becomeReady();
    } else if (frame.type === 'error') {
      clearTimeout(this.deadline);
      this.transport.terminate();
      this.reject(new Error(`tether error ${frame.code}: ${frame.message}`));
    }
    // `queued` (admission waits for a slot): keep waiting for welcome.
  }

  failed(error: Error): void {
    clearTimeout(this.deadline);
    this.reject(error);
  }

  closed(code: number, reason: string): void {
    this.endedBecause = `${this.endedBecause ?? ''} close ${code} ${reason}`.trim();
    if (!this.isReady) {
      clearTimeout(this.deadline);
      this.reject(new Error(`closed before ready: ${code} ${reason}`));
    }
  }

  private becomeReady(): void {
    this.isReady = true;
    clearTimeout(this.deadline);
    this.resolve(this.client);
  }

  private publishFrame(channel: string, payload: string): string {
    return this.options.idempotencyKeys
      ? `{"type":"publish","channel":"${channel}","data":"${payload}","idempotencyKey":"${this.options.userId}.${this.published++}"}`
      : `{"type":"publish","channel":"${channel}","data":"${payload}"}`;
  }
}

/** A byte loop: a quarter of `Buffer.compare`'s cost for a 15-byte prefix (a native call each). */
function startsWith(data: Buffer, prefix: Buffer): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** A batch frame (docs/protocol.md, "Batched delivery"): each event in it is a delivery. */
function countBatch(text: string, handlers: ClientHandlers): void {
  const { frames } = JSON.parse(text) as { frames: { type: string }[] };
  for (const frame of frames) if (frame.type === 'event') handlers.delivered();
}
