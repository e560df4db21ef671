import { useSyncExternalStore } from 'react';
import type { ClientStateName } from '../client-events.ts';
import type { TetherClient } from '../tether-client.ts';

export function useConnectionState(client: TetherClient): ClientStateName {
  return useSyncExternalStore(
    (onChange) => client.on('state', onChange),
    () => client.state,
  );
}
