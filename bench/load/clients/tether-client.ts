/**
 * Client for Tether's wire protocol (docs/protocol.md): hello with a JWT, wait for
 * welcome, subscribe, then publish frames; events arrive as JSON text frames.
 * Relay = publish to a channel only this client subscribes to (`relay.<userId>`),
 * so each relayed message makes the full trip: gateway → Redis XADD + PUBLISH →
 * gateway → client.
 */
import WebSocket from 'ws';
import {
  type BenchClient,
  type ClientHandlers,
  type ClientOptions,
  connectDeadline,
  generatorSocketOptions,
} from './bench-client.ts';
import { closeWs } from './raw-client.ts';
import { mintToken } from './tokens.ts';

const EVENT_PREFIX = '{"type":"event"';
const BATCH_PREFIX = '{"type":"batch"';

export async function connectTetherClient(
  options: ClientOptions,
  handlers: ClientHandlers,
): Promise<BenchClient> {
  if (!options.jwtSecret) throw new Error('tether client needs a jwtSecret');
  const token = await mintToken(options.jwtSecret, options.userId);
  const relayChannel = `relay.${options.userId}`;
  const channels = [options.subscribe, options.relay ? relayChannel : undefined].filter(
    (c): c is string => c !== undefined,
  );
  let published = 0;
  const publishFrame = options.idempotencyKeys
    ? (channel: string, payload: string) =>
        `{"type":"publish","channel":"${channel}","data":"${payload}","idempotencyKey":"${options.userId}.${published++}"}`
    : (channel: string, payload: string) => `{"type":"publish","channel":"${channel}","data":"${payload}"}`;
  const hello = JSON.stringify({ type: 'hello', token, ...(options.wire?.batch ? { batch: true } : {}) });

  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      options.url,
      generatorSocketOptions(options.localAddress, options.wire?.deflate ?? false),
    );
    let endedBecause: string | undefined;
    const client: BenchClient = {
      get endedBecause() {
        return endedBecause;
      },
      relay: (payload) => ws.send(publishFrame(relayChannel, payload)),
      publish: (channel, payload, dataJson) =>
        ws.send(
          dataJson === undefined
            ? publishFrame(channel, payload)
            : `{"type":"publish","channel":"${channel}","data":${dataJson}}`,
        ),
      bytesRead: () => (ws as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0,
      get isOpen() {
        return ws.readyState === WebSocket.OPEN;
      },
      close: () => closeWs(ws),
      terminate: () => ws.terminate(),
    };
    const deadline = connectDeadline(options.timeoutMs, reject, () => ws.terminate());
    let pendingSubscriptions = channels.length;
    let ready = false;
    const becomeReady = () => {
      ready = true;
      clearTimeout(deadline);
      resolve(client);
    };

    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (ready) {
        // Hot path: fan-out only counts; relay needs the payload back.
        if (text.startsWith(BATCH_PREFIX)) {
          countBatch(text, handlers);
          return;
        }
        if (!text.startsWith(EVENT_PREFIX)) {
          if (text.startsWith('{"type":"error"')) endedBecause = text.slice(0, 300);
          return;
        }
        if (options.relay) handlers.relayed((JSON.parse(text) as { data: string }).data);
        else handlers.delivered();
        return;
      }
      const frame = JSON.parse(text) as { type: string; code?: string; message?: string };
      if (frame.type === 'welcome') {
        if (pendingSubscriptions === 0) becomeReady();
        for (const channel of channels) ws.send(`{"type":"subscribe","channel":"${channel}"}`);
      } else if (frame.type === 'subscribed') {
        if (--pendingSubscriptions === 0) becomeReady();
      } else if (frame.type === 'error') {
        clearTimeout(deadline);
        ws.terminate();
        reject(new Error(`tether error ${frame.code}: ${frame.message}`));
      }
      // `queued` (admission waits for a slot): keep waiting for welcome.
    });
    ws.once('open', () => ws.send(hello));
    ws.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    ws.on('close', (code, reason) => {
      endedBecause = `${endedBecause ?? ''} close ${code} ${reason.toString()}`.trim();
      if (!ready) {
        clearTimeout(deadline);
        reject(new Error(`closed before ready: ${code} ${reason.toString()}`));
      }
    });
  });
}

/** A batch frame (docs/protocol.md, "Batched delivery"): each event in it is a delivery. */
function countBatch(text: string, handlers: ClientHandlers): void {
  const { frames } = JSON.parse(text) as { frames: { type: string }[] };
  for (const frame of frames) if (frame.type === 'event') handlers.delivered();
}
