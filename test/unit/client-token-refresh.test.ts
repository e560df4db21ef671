/**
 * In-band token refresh as the client machine decides it (machines/client.machine.ts,
 * `connected.token`; timing in machines/client-token-refresh.ts): when it refreshes (the
 * lead, never after it; the jitter's bounds with an injected random source), what a failing
 * getToken() leads to (backoff until `exp`, then nothing: the gateway's 4002 close brings the
 * reconnect), the answers the gateway may give, and why a refused refresh (4004) is worth one
 * reconnect — with a new token, and never a tight loop.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import {
  type ClientMachineInput,
  clientMachine,
  type GatewayReadiness,
} from '../../machines/client.machine.ts';
import { refreshDelay, refreshLead } from '../../machines/client-token-refresh.ts';
import { TetherClientError } from '../../packages/client/src/index.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const timing = { leadMs: 30 * SECOND, jitter: 0.1 };

describe('when to refresh', () => {
  it('30 s ahead, a tenth of the lifetime for long tokens, at most half of it for short ones', () => {
    expect(refreshLead(HOUR, timing.leadMs)).toBe(6 * MINUTE);
    expect(refreshLead(5 * MINUTE, timing.leadMs)).toBe(30 * SECOND);
    expect(refreshLead(40 * SECOND, timing.leadMs)).toBe(20 * SECOND);
    expect(refreshLead(3 * SECOND, timing.leadMs)).toBe(1500);
    expect(refreshLead(-5, timing.leadMs)).toBe(0);
  });

  it('jitter only pulls the refresh earlier, by at most `jitter` of the wait, and spreads it', () => {
    const latest = HOUR - 6 * MINUTE;
    expect(refreshDelay(HOUR, HOUR, timing, () => 0)).toBe(latest);
    expect(refreshDelay(HOUR, HOUR, timing, () => 0.999_999)).toBe(
      Math.round(latest * (1 - 0.1 * 0.999_999)),
    );
    let seed = 7;
    const lcg = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const delays = Array.from({ length: 2000 }, () => refreshDelay(HOUR, HOUR, timing, lcg));
    for (const delay of delays) {
      expect(delay).toBeLessThanOrEqual(latest);
      expect(delay).toBeGreaterThanOrEqual(Math.floor(latest * 0.9));
    }
    // Spread over the window, not bunched: every tenth of it gets some clients.
    const buckets = new Set(delays.map((d) => Math.min(9, Math.floor(((latest - d) / (latest * 0.1)) * 10))));
    expect(buckets.size).toBe(10);
  });

  it('at once when the lead has begun (a token that arrives nearly expired)', () => {
    expect(refreshDelay(10 * SECOND, HOUR, timing, () => 0)).toBe(0);
    expect(refreshDelay(-1, HOUR, timing, () => 0)).toBe(0);
  });
});

describe('the client machine refreshes in band (createActor, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  interface Script {
    /** What each getToken() for a refresh does, in order; the last one repeats. */
    renewals?: (() => Promise<string | undefined>)[];
  }

  function start(input: ClientMachineInput, log: string[], script: Script = {}) {
    const renewals = [...(script.renewals ?? [async () => 'fresh'])];
    let n = 0;
    const actor = createActor(
      clientMachine.provide({
        actors: {
          fetchToken: fromPromise<string | undefined>(async () => 'jwt'),
          renewToken: fromPromise(() => {
            n++;
            log.push(`renew#${n}`);
            const next = renewals.length > 1 ? renewals.shift()! : renewals[0]!;
            return next();
          }),
          probeGateway: fromPromise<GatewayReadiness>(async () => 'ready'),
        },
        actions: {
          openSocket: () => log.push('open'),
          closeSocket: (_, { graceful }) => log.push(graceful ? 'bye' : 'close'),
          sendRefresh: (_, { token }) => log.push(`refresh:${token}`),
        },
      }),
      { input: { pingIntervalMs: 10 * HOUR, random: () => 0, ...input } },
    );
    actor.start();
    return actor;
  }

  async function connectWith(actor: ReturnType<typeof start>, tokenExpiresInMs?: number) {
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(0);
    actor.send({ type: 'socket.welcomed', sessionId: 's-1', tokenExpiresInMs });
  }

  const tokenState = (actor: ReturnType<typeof start>) =>
    (actor.getSnapshot().value as { connected?: { token: string } }).connected?.token;

  it('refreshes a lead before exp, sends the new token, and plans the next from `refreshed`', async () => {
    const log: string[] = [];
    const actor = start({}, log);
    await connectWith(actor, HOUR);
    expect(tokenState(actor)).toBe('valid');
    await vi.advanceTimersByTimeAsync(54 * MINUTE - 1); // random 0: the latest moment, 6 min ahead
    expect(log).not.toContain('renew#1');
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['open', 'renew#1', 'refresh:fresh']);
    expect(tokenState(actor)).toBe('sent');
    actor.send({ type: 'token.refreshed', tokenExpiresInMs: HOUR });
    expect(tokenState(actor)).toBe('valid');
    await vi.advanceTimersByTimeAsync(54 * MINUTE);
    expect(log).toEqual(['open', 'renew#1', 'refresh:fresh', 'renew#2', 'refresh:fresh']);
    expect(actor.getSnapshot().matches('connected')).toBe(true); // the same connection all along
  });

  it('with the random source at its top, refreshes up to 10 % of the wait earlier — never later', async () => {
    const log: string[] = [];
    const actor = start({ random: () => 0.999 }, log);
    await connectWith(actor, HOUR);
    const earliest = Math.round(54 * MINUTE * (1 - 0.1 * 0.999));
    expect(actor.getSnapshot().context.refreshDelayMs).toBe(earliest);
    await vi.advanceTimersByTimeAsync(earliest - 1);
    expect(log).not.toContain('renew#1');
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toContain('renew#1');
  });

  it('honours refreshLeadMs and refreshJitter from the input', async () => {
    const log: string[] = [];
    const actor = start({ refreshLeadMs: 2 * MINUTE, refreshJitter: 0, random: () => 0.9 }, log);
    await connectWith(actor, 10 * MINUTE);
    expect(actor.getSnapshot().context.refreshDelayMs).toBe(8 * MINUTE);
  });

  it('a getToken() that fails is retried with backoff until exp, then left to the gateway’s 4002', async () => {
    const log: string[] = [];
    const actor = start({ backoffBaseMs: 1000, backoffMaxMs: 8000, backoffFloor: 1, random: () => 0 }, log, {
      renewals: [() => Promise.reject(new TypeError('fetch failed'))],
    });
    await connectWith(actor, 40 * SECOND); // lead 20 s: first try at 20 s, exp at 40 s
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    expect(log.filter((l) => l.startsWith('renew'))).toEqual(['renew#1']);
    expect(tokenState(actor)).toBe('retrying');
    // Retries after 1, 2, 4, 8, 8 s: at 21, 23, 27, 35 s; the next (43 s) would come after exp.
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    expect(log.filter((l) => l.startsWith('renew'))).toHaveLength(5);
    expect(tokenState(actor)).toBe('lapsed');
    expect(log.filter((l) => l.startsWith('refresh:'))).toEqual([]);
    expect(log).not.toContain('close'); // the machine does not drop the socket itself
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(log.filter((l) => l.startsWith('renew'))).toHaveLength(5); // and stops trying
    // The gateway closes at exp; the normal reconnect fetches a new token for the next hello.
    actor.send({ type: 'socket.closed', failure: { code: 'AUTH_TOKEN_EXPIRED', retryable: true } });
    expect(actor.getSnapshot().matches('reconnecting')).toBe(true);
  });

  it('a failed getToken() that then succeeds sends the token, and the retry count starts over', async () => {
    const log: string[] = [];
    const actor = start({ backoffBaseMs: 1000, backoffFloor: 1 }, log, {
      renewals: [() => Promise.reject(new TypeError('fetch failed')), async () => 'second'],
    });
    await connectWith(actor, 40 * SECOND);
    await vi.advanceTimersByTimeAsync(21 * SECOND);
    expect(log).toEqual(['open', 'renew#1', 'renew#2', 'refresh:second']);
    expect(actor.getSnapshot().context.refreshStep).toBe(1);
    actor.send({ type: 'token.refreshed', tokenExpiresInMs: 40 * SECOND });
    expect(actor.getSnapshot().context.refreshStep).toBe(0);
  });

  it('the same token again (a token cache) is not a refresh: retried with backoff, never sooner and sooner', async () => {
    const log: string[] = [];
    const actor = start({ backoffBaseMs: 1000, backoffMaxMs: 8000, backoffFloor: 1 }, log);
    await connectWith(actor, 40 * SECOND);
    const expiresAt = actor.getSnapshot().context.tokenExpiresAt!;
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    const sameExp = () => ({ type: 'token.refreshed', tokenExpiresInMs: expiresAt - Date.now() }) as const;
    actor.send(sameExp());
    expect(tokenState(actor)).toBe('retrying');
    for (const wait of [1000, 2000, 4000]) {
      await vi.advanceTimersByTimeAsync(wait);
      actor.send(sameExp());
    }
    expect(actor.getSnapshot().context.refreshStep).toBe(4); // the backoff grows: 1, 2, 4, 8 s
    expect(log.filter((l) => l.startsWith('renew'))).toHaveLength(4);
    // A token that expires even sooner is believed: the gateway now closes at its exp.
    actor.send({ type: 'token.refreshed', tokenExpiresInMs: 2 * SECOND });
    expect(actor.getSnapshot().context.tokenExpiresAt).toBe(Date.now() + 2 * SECOND);
    expect(tokenState(actor)).toBe('lapsed'); // the next retry (16 s → 8 s cap) would come after it
  });

  it('a coded, non-retryable error from getToken() (the application says: logged out) stops refreshing', async () => {
    const log: string[] = [];
    const actor = start({}, log, {
      renewals: [() => Promise.reject(new TetherClientError('AUTH_INVALID_TOKEN', { detail: 'logged out' }))],
    });
    await connectWith(actor, 40 * SECOND);
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    expect(tokenState(actor)).toBe('lapsed');
    expect(log.filter((l) => l.startsWith('renew'))).toEqual(['renew#1']);
  });

  it('a getToken() that never answers, or a refresh never answered, is retried after connectTimeoutMs', async () => {
    const log: string[] = [];
    const actor = start({ connectTimeoutMs: 5 * SECOND, backoffBaseMs: 1000, backoffFloor: 1 }, log, {
      renewals: [() => new Promise(() => {}), async () => 'fresh'],
    });
    await connectWith(actor, HOUR);
    await vi.advanceTimersByTimeAsync(54 * MINUTE + 5 * SECOND); // the first renewal hangs
    expect(tokenState(actor)).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1000);
    expect(tokenState(actor)).toBe('sent');
    await vi.advanceTimersByTimeAsync(5 * SECOND); // no `refreshed`
    expect(tokenState(actor)).toBe('retrying');
  });

  it('an error answering the refresh: retryable → tried again; otherwise lapsed', async () => {
    const log: string[] = [];
    const actor = start({ backoffBaseMs: 1000, backoffFloor: 1 }, log);
    await connectWith(actor, HOUR);
    await vi.advanceTimersByTimeAsync(54 * MINUTE);
    actor.send({ type: 'token.refreshFailed', failure: { code: 'MESSAGE_RATE_LIMITED', retryable: true } });
    expect(tokenState(actor)).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.filter((l) => l.startsWith('refresh:'))).toHaveLength(2);
    actor.send({ type: 'token.refreshFailed', failure: { code: 'MALFORMED_MESSAGE', retryable: false } });
    expect(tokenState(actor)).toBe('lapsed');
  });

  it('nothing to refresh: a token without exp, or refreshInBand off', async () => {
    const log: string[] = [];
    const noExp = start({}, log);
    await connectWith(noExp);
    expect(tokenState(noExp)).toBe('unmanaged');
    const off = start({ refreshInBand: false }, log);
    await connectWith(off, 40 * SECOND);
    expect(tokenState(off)).toBe('unmanaged');
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(log.filter((l) => l.startsWith('renew'))).toEqual([]);
  });

  it('a refreshed token without exp needs no more refreshes', async () => {
    const log: string[] = [];
    const actor = start({}, log);
    await connectWith(actor, 40 * SECOND);
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    actor.send({ type: 'token.refreshed' });
    expect(tokenState(actor)).toBe('unmanaged');
    expect(actor.getSnapshot().context.tokenExpiresAt).toBeUndefined();
  });

  it('the reconnect after a drop plans from the new welcome’s token, not the old one', async () => {
    const log: string[] = [];
    const actor = start({}, log);
    await connectWith(actor, HOUR);
    actor.send({ type: 'socket.closed', failure: { code: 'CONNECTION_LOST', retryable: true } });
    await vi.advanceTimersByTimeAsync(1000);
    actor.send({ type: 'socket.welcomed', sessionId: 's-1', tokenExpiresInMs: 40 * SECOND });
    expect(actor.getSnapshot().context.refreshDelayMs).toBe(20 * SECOND);
    await vi.advanceTimersByTimeAsync(20 * SECOND);
    expect(log.filter((l) => l.startsWith('renew'))).toEqual(['renew#1']);
  });
});

describe('a refused refresh (AUTH_REFRESH_REJECTED, 4004)', () => {
  const refused = { code: 'AUTH_REFRESH_REJECTED', retryable: false };
  const invalid = { code: 'AUTH_INVALID_TOKEN', retryable: false };

  it('is one reconnect with a new token (backoff first); what that attempt meets decides the rest', async () => {
    vi.useFakeTimers();
    try {
      const log: string[] = [];
      let tokens = 0;
      const actor = createActor(
        clientMachine.provide({
          actors: {
            fetchToken: fromPromise<string | undefined>(async () => {
              tokens++;
              return `jwt-${tokens}`;
            }),
          },
          actions: { openSocket: (_, { token }) => log.push(`open:${token}`) },
        }),
        { input: { random: () => 0 } },
      );
      actor.start();
      actor.send({ type: 'client.connect' });
      await vi.advanceTimersByTimeAsync(0);
      actor.send({ type: 'socket.welcomed', sessionId: 's-1' });
      actor.send({ type: 'socket.closed', failure: refused });
      expect(actor.getSnapshot().matches({ reconnecting: 'waiting' })).toBe(true);
      expect(actor.getSnapshot().context.retryDelayMs).toBeGreaterThan(0); // not a tight loop
      await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
      expect(log).toEqual(['open:jwt-1', 'open:jwt-2']); // the reconnect asked getToken() again
      // The new token is no good either: the hello's own refusal stops the client.
      actor.send({ type: 'socket.closed', failure: invalid });
      expect(actor.getSnapshot().matches({ failed: 'stopped' })).toBe(true);
      await vi.advanceTimersByTimeAsync(HOUR);
      expect(log).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts against a bounded maxReconnectAttempts like any loss', async () => {
    const actor = createActor(clientMachine, { input: { maxAttempts: 0 } });
    actor.start();
    actor.send({ type: 'client.connect' });
    actor.send({ type: 'socket.closed', failure: refused });
    expect(actor.getSnapshot().matches({ failed: 'exhausted' })).toBe(true);
    actor.stop();
  });
});
