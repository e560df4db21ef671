/** Connect one client of the given kind. */
import type { ClientKind } from '../../systems/system.ts';
import type { BenchClient, ClientHandlers, ClientOptions } from './bench-client.ts';
import { connectRawClient } from './raw-client.ts';
import { connectSocketIoClient } from './socketio-client.ts';
import { connectTetherClient } from './tether-client.ts';
import { connectTetherSseClient } from './tether-sse-client.ts';

export function connectClient(
  kind: ClientKind,
  options: ClientOptions,
  handlers: ClientHandlers,
): Promise<BenchClient> {
  switch (kind) {
    case 'raw':
      return connectRawClient(options, handlers);
    case 'tether':
      return connectTetherClient(options, handlers);
    case 'tether-sse':
      return connectTetherSseClient(options, handlers);
    case 'socketio':
      return connectSocketIoClient(options, handlers);
  }
}
