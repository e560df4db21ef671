/**
 * A small React app on the SDK's React bindings, bundled by test/e2e/react-bindings.test.ts
 * and run in chromium: a connection status and two feeds of the same channel (which share
 * one subscription), one of which can be unmounted.
 */
import { createElement as h, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { TetherClient } from '../../packages/client/src/index.ts';
import {
  TetherProvider,
  useConnectionState,
  useSubscription,
  useTether,
} from '../../packages/client/src/react/index.ts';

const params = new URLSearchParams(location.search);
const channel = params.get('channel') ?? 'room:react';
const client = new TetherClient({ url: params.get('url') ?? '', token: params.get('token') ?? '' });
client.connect();
Object.assign(window, { client });

function Status() {
  const { state, error } = useConnectionState();
  return h('p', { id: 'state', 'data-error': error?.code ?? '' }, state);
}

function Feed(props: { id: string }) {
  const { state, publications, position } = useSubscription(channel);
  return h(
    'section',
    { id: props.id, 'data-state': state, 'data-position': position?.id ?? '' },
    h(
      'ol',
      null,
      publications.map((p) => h('li', { key: p.id }, String((p.data as { n: number }).n))),
    ),
  );
}

function App() {
  const [first, setFirst] = useState(true);
  const tether = useTether();
  return h(
    'main',
    { 'data-session': tether.sessionId ?? '' },
    h(Status),
    first ? h(Feed, { id: 'a' }) : null,
    h(Feed, { id: 'b' }),
    h(
      'button',
      { id: 'toggle', type: 'button', onClick: () => setFirst((shown) => !shown) },
      'toggle feed a',
    ),
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(h(TetherProvider, { client }, h(App)));
