/**
 * The modules `npm run mutation` mutates, each imported inside a test and used once.
 * A module that throws while it loads (a machine that cannot be built, a table that
 * cannot be filled) fails the other test files while vitest collects them, before any
 * test runs — which Stryker's vitest runner counts as "survived". Here the same failure
 * is a failed test. So this file imports them only dynamically.
 */
import { describe, expect, it } from 'vitest';

describe('the mutated modules load and work', () => {
  it('machines/pool.machine.ts builds a pool that starts accepting', async () => {
    const { poolMachine } = await import('../../machines/pool.machine.ts');
    const { initialTransition } = await import('xstate');
    expect(initialTransition(poolMachine, { maxConnections: 1, maxWaiting: 1 })[0].value).toBe('accepting');
  });

  it('machines/client.machine.ts builds a client that starts idle, not exhausted', async () => {
    const { clientMachine } = await import('../../machines/client.machine.ts');
    const { initialTransition } = await import('xstate');
    const [idle] = initialTransition(clientMachine, {});
    expect(idle.value).toBe('idle');
    expect(idle.context).toMatchObject({ attempt: 0, exhausted: false, visibleRetryUsed: false });
  });

  it('packages/client/src/classify-close.ts knows the registry’s application close codes', async () => {
    const { classifyClose } = await import('../../packages/client/src/classify-close.ts');
    expect(classifyClose(4001, '').code).toBe('AUTH_INVALID_TOKEN');
    expect(classifyClose(4033, '').code).toBe('USER_TOO_MANY_CONNECTIONS');
  });

  it('src/protocol/frame-codec.ts decodes a frame', async () => {
    const { decodeFrame } = await import('../../src/protocol/frame-codec.ts');
    expect(decodeFrame('{"type":"ping","ts":1}').frame).toEqual({ type: 'ping', ts: 1 });
  });

  it('src/shared/identifiers.ts and backoff.ts, and the client’s queue and positions', async () => {
    const { compareEventIds } = await import('../../src/shared/identifiers.ts');
    const { backoffCeiling } = await import('../../src/shared/backoff.ts');
    const { OfflineQueue } = await import('../../packages/client/src/offline-queue.ts');
    const { ChannelPositions } = await import('../../packages/client/src/channel-positions.ts');
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0);
    expect(backoffCeiling(1)).toBe(1000);
    expect(new OfflineQueue(1).size).toBe(0);
    expect(new ChannelPositions().accept('a', '1-0')).toBe(true);
  });
});
