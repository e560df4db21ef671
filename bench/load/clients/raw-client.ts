/**
 * Client for the bare peers (`uws-raw`, `ws`), speaking bench/systems/raw-protocol.ts.
 */
import WebSocket from 'ws';
import { RAW } from '../../systems/raw-protocol.ts';
import {
  type BenchClient,
  type ClientHandlers,
  type ClientOptions,
  connectDeadline,
  generatorSocketOptions,
} from './bench-client.ts';

const ECHO = RAW.echo.charCodeAt(0);
const MESSAGE = RAW.message.charCodeAt(0);
const SUBSCRIBED = RAW.subscribed.charCodeAt(0);

export function connectRawClient(options: ClientOptions, handlers: ClientHandlers): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(options.url, generatorSocketOptions(options.localAddress));
    let endedBecause: string | undefined;
    ws.on('close', (code, reason) => {
      endedBecause = `close ${code} ${reason.toString()}`;
    });
    const client: BenchClient = {
      get endedBecause() {
        return endedBecause;
      },
      relay: (payload) => ws.send(RAW.echo + payload),
      publish: (channel, payload) => ws.send(`${RAW.publish}${channel} ${payload}`),
      get isOpen() {
        return ws.readyState === WebSocket.OPEN;
      },
      close: () => closeWs(ws),
      terminate: () => ws.terminate(),
    };
    const deadline = connectDeadline(options.timeoutMs, reject, () => ws.terminate());
    const ready = () => {
      clearTimeout(deadline);
      resolve(client);
    };
    ws.on('message', (data: Buffer) => {
      const kind = data[0];
      if (kind === ECHO) handlers.relayed(data.toString('latin1', 1));
      else if (kind === MESSAGE) handlers.delivered();
      else if (kind === SUBSCRIBED) ready();
    });
    ws.once('open', () => {
      if (options.subscribe) ws.send(RAW.subscribe + options.subscribe);
      else ready();
    });
    ws.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
  });
}

/** Close with a closing handshake; resolves when the socket is closed. */
export function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}
