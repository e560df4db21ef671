/**
 * Tether's protocol (tether-session.ts) over a WebSocket (the `ws` package).
 */
import WebSocket from 'ws';
import {
  type BenchClient,
  type ClientHandlers,
  type ClientOptions,
  generatorSocketOptions,
} from './bench-client.ts';
import { closeWs } from './raw-client.ts';
import { TetherSession } from './tether-session.ts';

export async function connectTetherClient(
  options: ClientOptions,
  handlers: ClientHandlers,
): Promise<BenchClient> {
  const hello = await TetherSession.hello(options);
  const ws = new WebSocket(
    options.url,
    generatorSocketOptions(options.localAddress, options.wire?.deflate ?? false),
  );
  const session = new TetherSession(
    options,
    handlers,
    {
      send: (text) => ws.send(text),
      close: () => closeWs(ws),
      terminate: () => ws.terminate(),
      get isOpen() {
        return ws.readyState === WebSocket.OPEN;
      },
      bytesRead: () => (ws as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0,
    },
    hello,
  );
  ws.on('message', (data: Buffer) => session.receivedBytes(data));
  ws.once('open', () => session.opened());
  ws.on('error', (error) => session.failed(error));
  ws.on('close', (code, reason) => session.closed(code, reason.toString()));
  return session.ready;
}
