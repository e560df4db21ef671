/**
 * Client for the Socket.IO peer (bench/systems/socketio.server.ts): WebSocket
 * transport only, no automatic reconnection (the scenarios decide when to connect).
 */
import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import {
  type BenchClient,
  type ClientHandlers,
  type ClientOptions,
  connectDeadline,
} from './bench-client.ts';

export function connectSocketIoClient(
  options: ClientOptions,
  handlers: ClientHandlers,
): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    // `localAddress` is passed through to the `ws` transport in Node; it is not in the browser typings.
    const socketOptions: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: options.timeoutMs,
      localAddress: options.localAddress,
    };
    const socket = io(options.url, socketOptions);
    let endedBecause: string | undefined;
    socket.on('disconnect', (reason) => {
      endedBecause = `disconnect: ${reason}`;
    });
    const client: BenchClient = {
      get endedBecause() {
        return endedBecause;
      },
      relay: (payload) => socket.emit('e', payload),
      publish: (channel, payload) => socket.emit('p', channel, payload),
      get isOpen() {
        return socket.connected;
      },
      close: () =>
        new Promise<void>((resolve) => {
          if (!socket.connected) return resolve();
          socket.io.engine?.once('close', () => resolve());
          socket.disconnect();
        }),
      terminate: () => {
        socket.io.engine?.close();
      },
    };
    const deadline = connectDeadline(options.timeoutMs, reject, () => socket.disconnect());
    const ready = () => {
      clearTimeout(deadline);
      resolve(client);
    };
    socket.on('e', (payload: string) => handlers.relayed(payload));
    socket.on('m', () => handlers.delivered());
    socket.once('connect', () => {
      if (options.subscribe) socket.emit('s', options.subscribe, ready);
      else ready();
    });
    socket.once('connect_error', (error) => {
      clearTimeout(deadline);
      socket.disconnect();
      reject(error);
    });
  });
}
