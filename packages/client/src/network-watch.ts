/**
 * Browser signals that matter to a connection: `online`/`offline` (reconnect the
 * moment the network returns, spend no attempts while it is gone) and page
 * visibility (a tab brought back should not wait out a long backoff). In Node
 * there is nothing to watch and this does nothing.
 */
export interface NetworkSignals {
  online(): void;
  offline(): void;
  visible(): void;
}

interface BrowserGlobals {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
  navigator?: { onLine?: boolean };
  document?: {
    visibilityState?: string;
    addEventListener(type: string, listener: () => void): void;
    removeEventListener(type: string, listener: () => void): void;
  };
}

/**
 * Starts watching; returns the function that stops. A Web Worker has `online`/`offline`
 * (and `navigator.onLine`) but no document: the network is watched there too, or a worker
 * that went offline would wait in `reconnecting.offline` for an `online` it never hears.
 */
export function watchNetwork(signals: NetworkSignals): () => void {
  const g = globalThis as BrowserGlobals;
  if (typeof g.addEventListener !== 'function') return () => {};
  const online = () => signals.online();
  const offline = () => signals.offline();
  const visibility = () => {
    if (g.document?.visibilityState === 'visible') signals.visible();
  };
  g.addEventListener('online', online);
  g.addEventListener('offline', offline);
  g.document?.addEventListener('visibilitychange', visibility);
  return () => {
    g.removeEventListener?.('online', online);
    g.removeEventListener?.('offline', offline);
    g.document?.removeEventListener('visibilitychange', visibility);
  };
}

/** false only when a browser is sure there is no network. */
export function isOnline(): boolean {
  return (globalThis as BrowserGlobals).navigator?.onLine !== false;
}
