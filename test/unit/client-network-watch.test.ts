/**
 * Which browser signals the SDK listens to (packages/client/src/network-watch.ts). A Web
 * Worker's global fires `online`/`offline` but has no document; a page's has both. Chromium's
 * network emulation (playwright's setOffline) flips a worker's navigator.onLine without
 * firing those events in it, so a real browser cannot drive this case: the worker's global
 * is stood in for by an EventTarget, the one part it has.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { watchNetwork } from '../../packages/client/src/network-watch.ts';

const scope = globalThis as unknown as Record<string, unknown>;
afterEach(() => {
  delete scope.addEventListener;
  delete scope.removeEventListener;
});

describe('watchNetwork', () => {
  it('hears online and offline on a global with no document (a Web Worker), until stopped', () => {
    const workerScope = new EventTarget();
    scope.addEventListener = workerScope.addEventListener.bind(workerScope);
    scope.removeEventListener = workerScope.removeEventListener.bind(workerScope);
    const heard: string[] = [];
    const stop = watchNetwork({
      online: () => heard.push('online'),
      offline: () => heard.push('offline'),
      visible: () => heard.push('visible'),
    });
    workerScope.dispatchEvent(new Event('offline'));
    workerScope.dispatchEvent(new Event('online'));
    stop();
    workerScope.dispatchEvent(new Event('offline'));
    expect(heard).toEqual(['offline', 'online']);
  });

  it('watches nothing where the global has no events (Node)', () => {
    expect(typeof scope.addEventListener).toBe('undefined');
    const stop = watchNetwork({ online: () => {}, offline: () => {}, visible: () => {} });
    expect(stop).toBeTypeOf('function');
  });
});
