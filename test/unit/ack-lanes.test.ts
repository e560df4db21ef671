/**
 * src/channels/ack-lanes.ts, with sends the test answers itself and a fake clock: a
 * publish's deadline runs from when it was asked (its WAIT gets what is left); one still
 * waiting for a lane at its deadline is refused unsent; the appends waiting when a lane
 * frees go out as one batch with one WAIT, each answered by its own reply and that WAIT;
 * after a short WAIT one probe at a time is sent and the rest refused at once, until a
 * WAIT is confirmed; a reply missing well past its deadline is answered as Redis not
 * answering; one master's replicas do not hold another's appends. And the cluster slot a
 * stream key's server is found by.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AckLanes, type AckReplies, ANSWER_GRACE_MS, MAX_BATCH } from '../../src/channels/ack-lanes.ts';
import { ReplicationShortError } from '../../src/core/ports/event-store.ts';
import { StoreStalledError } from '../../src/core/ports/store-readiness.ts';
import { keySlot } from '../../src/redis/redis-target.ts';

const TIMEOUT_MS = 500;

/**
 * Lanes whose sends are recorded with their lane, appends and WAIT timeout, each answered
 * by the test: every append's reply is itself, unless `errors` names it.
 */
function lanesOf(lanes: number) {
  const sent: {
    lane: number;
    appends: string[];
    waitMs: number;
    reply: (confirmed: number, errors?: Record<string, Error>) => void;
  }[] = [];
  const send = (lane: number, appends: string[], waitMs: number) =>
    new Promise<AckReplies<string>>((resolve) => {
      sent.push({
        lane,
        appends,
        waitMs,
        reply: (confirmed, errors = {}) =>
          resolve({ replies: appends.map((append) => [errors[append] ?? null, append]), confirmed }),
      });
    });
  return { lanes: new AckLanes(lanes, 1, TIMEOUT_MS, send, () => Date.now()), sent };
}

/** A promise's outcome so far: settled or not, without waiting for it. */
function watch<T>(promise: Promise<T>) {
  const seen: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(seen, { value, settled: true }),
    (error: unknown) => Object.assign(seen, { error, settled: true }),
  );
  return seen;
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('AckLanes', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends what finds a lane free at once with what is left of its time; those still waiting at their deadline are refused unsent', async () => {
    const { lanes, sent } = lanesOf(2);
    const late = watch(lanes.submit('', Date.now() - 200, 'a1'));
    const waiting = ['a2', 'a3', 'a4', 'a5', 'a6'].map((a) => watch(lanes.submit('', Date.now(), a)));
    await flush();
    expect(sent.map((s) => [s.lane, s.appends, s.waitMs])).toEqual([
      [0, ['a1'], 300],
      [1, ['a2'], 500],
    ]);
    expect(lanes.waiting).toBe(4);

    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(sent).toHaveLength(2); // nothing more went to Redis
    expect(lanes.waiting).toBe(0);
    for (const seen of waiting.slice(1)) {
      expect(seen.error).toBeInstanceOf(ReplicationShortError);
      expect((seen.error as ReplicationShortError).sent).toBe(false);
      expect((seen.error as Error).message).toMatch(/no connection for it came free within 500 ms/);
    }
    expect(late.settled).toBe(false); // sent: its WAIT answers it
    sent[0]?.reply(0);
    sent[1]?.reply(1);
    await flush();
    expect(late.error).toBeInstanceOf(ReplicationShortError);
    expect((late.error as ReplicationShortError).sent).toBe(true);
    expect((late.error as Error).message).toBe('0 of 1 replicas confirmed the append within 500 ms');
    expect(waiting[0]?.value).toBe('a2');
  });

  it('sends the appends waiting when a lane frees as one batch with one WAIT, of what is left of the earliest time; each is answered by its own reply', async () => {
    const { lanes, sent } = lanesOf(1);
    const first = watch(lanes.submit('', Date.now(), 'a0'));
    await vi.advanceTimersByTimeAsync(100);
    const batch = ['b1', 'b2', 'b3', 'b4'].map((b) => watch(lanes.submit('', Date.now(), b)));
    await vi.advanceTimersByTimeAsync(100);
    expect(lanes.waiting).toBe(4);
    sent[0]?.reply(1);
    await flush();
    expect(first.value).toBe('a0');
    expect(sent.map((s) => [s.appends, s.waitMs])).toEqual([
      [['a0'], 500],
      [['b1', 'b2', 'b3', 'b4'], 400], // one pipeline, one WAIT: b1 was asked 100 ms ago
    ]);
    const scriptError = new Error('ERR Error running script');
    sent[1]?.reply(1, { b3: scriptError });
    await flush();
    expect(batch.map((seen) => seen.value)).toEqual(['b1', 'b2', undefined, 'b4']);
    expect(batch[2]?.error).toBe(scriptError); // only its own publish fails

    // A short WAIT refuses each append of its batch, as sent.
    const holding = watch(lanes.submit('', Date.now(), 'c0'));
    const short = ['c1', 'c2', 'c3'].map((c) => watch(lanes.submit('', Date.now(), c)));
    await flush();
    sent[2]?.reply(1);
    await flush();
    expect(holding.value).toBe('c0');
    expect(sent[3]?.appends).toEqual(['c1', 'c2', 'c3']);
    sent[3]?.reply(0, { c3: scriptError });
    await flush();
    for (const seen of short.slice(0, 2)) {
      expect((seen.error as ReplicationShortError).sent).toBe(true);
      expect((seen.error as Error).message).toBe('0 of 1 replicas confirmed the append within 500 ms');
    }
    expect(short[2]?.error).toBe(scriptError);
  });

  it(`sends at most ${MAX_BATCH} appends with one WAIT`, async () => {
    const { lanes, sent } = lanesOf(1);
    lanes.submit('', Date.now(), 'first');
    for (let i = 0; i < MAX_BATCH + 5; i++) lanes.submit('', Date.now(), `a${i}`);
    await flush();
    sent[0]?.reply(1);
    await flush();
    expect(sent.map((s) => s.appends.length)).toEqual([1, MAX_BATCH]);
    sent[1]?.reply(1);
    await flush();
    expect(sent.map((s) => s.appends.length)).toEqual([1, MAX_BATCH, 5]);
  });

  it('after a short WAIT, one probe at a time is sent and the others are refused at once, until a WAIT is confirmed', async () => {
    const { lanes, sent } = lanesOf(4);
    const first = watch(lanes.submit('', Date.now(), 'a1'));
    await flush();
    sent[0]?.reply(0);
    await flush();
    expect((first.error as ReplicationShortError).sent).toBe(true);

    const probe = watch(lanes.submit('', Date.now(), 'a2'));
    const others = [watch(lanes.submit('', Date.now(), 'x')), watch(lanes.submit('', Date.now(), 'y'))];
    await flush();
    expect(sent.map((s) => s.appends)).toEqual([['a1'], ['a2']]);
    for (const seen of others) {
      expect((seen.error as ReplicationShortError).sent).toBe(false);
      expect((seen.error as Error).message).toBe(
        'the replicas are not confirming appends (0 of 1 replicas confirmed the append within 500 ms)',
      );
    }
    sent[1]?.reply(0); // still short: the next one probes again
    await flush();
    expect((probe.error as ReplicationShortError).sent).toBe(true);
    const again = watch(lanes.submit('', Date.now(), 'a3'));
    await flush();
    sent[2]?.reply(1); // confirmed: the replicas are back
    await flush();
    expect(again.value).toBe('a3');

    const after = ['b1', 'b2', 'b3', 'b4'].map((b) => watch(lanes.submit('', Date.now(), b)));
    await flush();
    expect(sent.slice(3).map((s) => s.lane)).toEqual([0, 1, 2, 3]);
    for (const s of sent.slice(3)) s.reply(1);
    await flush();
    expect(after.map((seen) => seen.value)).toEqual(['b1', 'b2', 'b3', 'b4']);
  });

  it('answers a sent batch whose reply does not come as Redis not answering, and keeps its lane taken', async () => {
    const { lanes, sent } = lanesOf(1);
    const stuck = watch(lanes.submit('', Date.now(), 'a1'));
    const behind = watch(lanes.submit('', Date.now(), 'a2'));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect((behind.error as ReplicationShortError).sent).toBe(false);
    expect(stuck.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(ANSWER_GRACE_MS);
    expect(stuck.error).toBeInstanceOf(StoreStalledError);
    const next = watch(lanes.submit('', Date.now(), 'a3'));
    await flush();
    expect(sent).toHaveLength(1); // the lane is still Redis's
    sent[0]?.reply(1); // the late reply settles nothing more, and frees the lane
    await flush();
    expect(stuck.error).toBeInstanceOf(StoreStalledError);
    expect(sent).toHaveLength(2);
    sent[1]?.reply(1);
    await flush();
    expect(next.value).toBe('a3');
  });

  it("keeps each master's lanes and replicas apart", async () => {
    const { lanes, sent } = lanesOf(1);
    watch(lanes.submit('a:1', Date.now(), 'a1'));
    const other = watch(lanes.submit('b:1', Date.now(), 'b1'));
    await flush();
    expect(sent).toHaveLength(2); // b's append does not wait for a's lane
    sent[1]?.reply(1);
    await flush();
    expect(other.value).toBe('b1');
  });
});

describe('keySlot', () => {
  it("is Redis Cluster's CRC16 of the key or its hash tag", () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar')); // an empty tag: the whole key
  });
});
