/**
 * `@tether-gateway/client/react`: React bindings (React 18+, an optional peer dependency).
 *
 * - `<TetherProvider client={client}>` shares one client with the tree below it.
 * - `useTether()` returns that client.
 * - `useConnectionState()` re-renders on every state change: `{ state, error, retryInMs, attempt }`.
 * - `useSubscription(channel)` subscribes while the component is mounted (components that
 *   want the same channel share one subscription) and returns its state, the latest
 *   publications, its position and the last `recovered` notice.
 *
 * The client's lifetime is the application's: create it once (module scope, or a `useState`
 * initialiser), call `connect()`, and `disconnect()` when the app is done with it.
 *
 * @example
 * const client = new TetherClient({ url: 'wss://example.com/ws', getToken });
 * client.connect();
 * function Room() {
 *   const { state } = useConnectionState();
 *   const { publications } = useSubscription('room:42');
 *   return createElement('ul', { title: state }, publications.map((p) => createElement('li', { key: p.id }, String(p.data))));
 * }
 * createRoot(el).render(createElement(TetherProvider, { client }, createElement(Room)));
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from 'react';
import type { ChannelEvent, ClientStateName } from '../client-events.ts';
import type {
  StreamPosition,
  Subscription,
  SubscriptionRecovered,
  SubscriptionState,
} from '../subscription.ts';
import type { TetherClient } from '../tether-client.ts';
import type { TetherClientError } from '../tether-client-error.ts';

const TetherContext = createContext<TetherClient | undefined>(undefined);

export function TetherProvider(props: { client: TetherClient; children?: ReactNode }): ReactNode {
  return createElement(TetherContext.Provider, { value: props.client }, props.children);
}

/** The client of the nearest `<TetherProvider>`. @throws Error when there is none. */
export function useTether(): TetherClient {
  const client = useContext(TetherContext);
  if (!client) throw new Error('useTether(): no <TetherProvider client={…}> above this component');
  return client;
}

export interface ConnectionView {
  state: ClientStateName;
  /** Why, when `reconnecting` or `failed`. */
  error?: TetherClientError;
  /** `reconnecting`: the next attempt starts in this many ms (when the change happened). */
  retryInMs?: number;
  attempt: number;
}

/** The client's connection state, re-rendered on every change. `client` defaults to the provider's. */
export function useConnectionState(client?: TetherClient): ConnectionView {
  const fromContext = useContext(TetherContext);
  const target = client ?? fromContext;
  if (!target) throw new Error('useConnectionState(): pass a client or render inside <TetherProvider>');
  const store = useMemo(() => connectionStore(target), [target]);
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

function connectionStore(client: TetherClient) {
  let view: ConnectionView = { state: client.state, attempt: 0 };
  return {
    subscribe: (onChange: () => void) =>
      client.on('state', ({ newState, error, retryInMs, attempt }) => {
        view = {
          state: newState,
          attempt,
          ...(error && { error }),
          ...(retryInMs !== undefined && { retryInMs }),
        };
        onChange();
      }),
    // A change before subscribe() ran is seen here: the snapshot follows the client.
    get: () => {
      if (view.state !== client.state) view = { state: client.state, attempt: 0 };
      return view;
    },
  };
}

export interface SubscriptionView {
  /** undefined until the effect has subscribed (on the server, always). */
  subscription?: Subscription;
  state: SubscriptionState;
  /** The latest publications, oldest first (at most `keep`). */
  publications: ChannelEvent[];
  position?: StreamPosition;
  recovered?: SubscriptionRecovered;
  error?: TetherClientError;
}

export interface UseSubscriptionOptions {
  /** Publications kept in the view. @defaultValue 100 */
  keep?: number;
  /** @defaultValue the provider's client */
  client?: TetherClient;
}

/** Subscribe to `channel` while mounted; the view re-renders on every change. */
export function useSubscription(channel: string, options: UseSubscriptionOptions = {}): SubscriptionView {
  const fromContext = useContext(TetherContext);
  const client = options.client ?? fromContext;
  if (!client) throw new Error('useSubscription(): pass options.client or render inside <TetherProvider>');
  const keep = options.keep ?? 100;
  const [view, setView] = useState<SubscriptionView>({ state: 'subscribing', publications: [] });
  useEffect(() => {
    const subscription = retain(client, channel);
    let publications: ChannelEvent[] = [];
    const update = (patch: Partial<SubscriptionView>) => setView((v) => ({ ...v, ...patch }));
    setView({ subscription, state: subscription.state, publications, position: subscription.position });
    const offs = [
      subscription.on('state', ({ newState, error }) => update({ state: newState, error })),
      subscription.on('publication', (event) => {
        publications = [...publications, event].slice(-keep);
        update({ publications, position: subscription.position });
      }),
      subscription.on('recovered', (recovered) => update({ recovered })),
      subscription.on('error', (error) => update({ error })),
    ];
    return () => {
      for (const off of offs) off();
      release(subscription);
    };
  }, [client, channel, keep]);
  return view;
}

/** Components mounted on the same channel share its subscription; the last one to leave ends it. */
const holders = new WeakMap<Subscription, number>();

function retain(client: TetherClient, channel: string): Subscription {
  const subscription = client.subscribe(channel);
  holders.set(subscription, (holders.get(subscription) ?? 0) + 1);
  return subscription;
}

function release(subscription: Subscription): void {
  const left = (holders.get(subscription) ?? 1) - 1;
  holders.set(subscription, left);
  if (left === 0) subscription.unsubscribe();
}
