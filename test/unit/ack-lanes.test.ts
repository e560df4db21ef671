/**
 * src/channels/ack-lanes.ts, with sends the test answers itself and a fake clock: a
 * publish's deadline runs from when it was asked (its WAIT gets what is left); one still
 * waiting for a lane at its deadline is refused unsent; after a short WAIT one probe at a
 * time is sent and the rest refused at once, until a WAIT is confirmed; a reply missing
 * well past its deadline is answered as Redis not answering; one master's replicas do
 * not hold another's appends. And the cluster slot a stream key's server is found by.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AckLanes, type AckReply, ANSWER_GRACE_MS } from '../../src/channels/ack-lanes.ts';
import { ReplicationShortError } from '../../src/core/ports/event-store.ts';
import { StoreStalledError } from '../../src/core/ports/store-readiness.ts';
import { keySlot } from '../../src/redis/redis-target.ts';

const TIMEOUT_MS = 500;

/** Sends recorded with their lane and WAIT timeout, each answered by the test. */
function sends() {
  const sent: { lane: number; waitMs: number; reply: (confirmed: number) => void }[] = [];
  const send = (lane: number, waitMs: number) =>
    new Promise<AckReply<string>>((resolve) => {
      sent.push({ lane, waitMs, reply: (confirmed) => resolve({ value: `id${sent.length}`, confirmed }) });
    });
  return { sent, send };
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

  it('sends one append per lane with what is left of its time; those still waiting at their deadline are refused unsent', async () => {
    const lanes = new AckLanes(2, 1, TIMEOUT_MS, () => Date.now());
    const { sent, send } = sends();
    const late = watch(lanes.submit('', Date.now() - 200, send));
    const waiting = Array.from({ length: 5 }, () => watch(lanes.submit('', Date.now(), send)));
    await flush();
    expect(sent.map((s) => [s.lane, s.waitMs])).toEqual([
      [0, 300],
      [1, 500],
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
    expect(waiting[0]?.value).toBe('id2');
  });

  it('after a short WAIT, one probe at a time is sent and the others are refused at once, until a WAIT is confirmed', async () => {
    const lanes = new AckLanes(4, 1, TIMEOUT_MS, () => Date.now());
    const { sent, send } = sends();
    const first = watch(lanes.submit('', Date.now(), send));
    await flush();
    sent[0]?.reply(0);
    await flush();
    expect((first.error as ReplicationShortError).sent).toBe(true);

    const probe = watch(lanes.submit('', Date.now(), send));
    const others = [watch(lanes.submit('', Date.now(), send)), watch(lanes.submit('', Date.now(), send))];
    await flush();
    expect(sent).toHaveLength(2);
    for (const seen of others) {
      expect((seen.error as ReplicationShortError).sent).toBe(false);
      expect((seen.error as Error).message).toBe(
        'the replicas are not confirming appends (0 of 1 replicas confirmed the append within 500 ms)',
      );
    }
    sent[1]?.reply(0); // still short: the next one probes again
    await flush();
    expect((probe.error as ReplicationShortError).sent).toBe(true);
    const again = watch(lanes.submit('', Date.now(), send));
    await flush();
    sent[2]?.reply(1); // confirmed: the replicas are back
    await flush();
    expect(again.value).toBe('id3');

    const after = Array.from({ length: 4 }, () => watch(lanes.submit('', Date.now(), send)));
    await flush();
    expect(sent.slice(3).map((s) => s.lane)).toEqual([0, 1, 2, 3]);
    for (const s of sent.slice(3)) s.reply(1);
    await flush();
    expect(after.every((seen) => seen.value !== undefined)).toBe(true);
  });

  it('answers a sent append whose reply does not come as Redis not answering, and keeps its lane taken', async () => {
    const lanes = new AckLanes(1, 1, TIMEOUT_MS, () => Date.now());
    const { sent, send } = sends();
    const stuck = watch(lanes.submit('', Date.now(), send));
    const behind = watch(lanes.submit('', Date.now(), send));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect((behind.error as ReplicationShortError).sent).toBe(false);
    expect(stuck.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(ANSWER_GRACE_MS);
    expect(stuck.error).toBeInstanceOf(StoreStalledError);
    const next = watch(lanes.submit('', Date.now(), send));
    await flush();
    expect(sent).toHaveLength(1); // the lane is still Redis's
    sent[0]?.reply(1); // the late reply settles nothing more, and frees the lane
    await flush();
    expect(stuck.error).toBeInstanceOf(StoreStalledError);
    expect(sent).toHaveLength(2);
    sent[1]?.reply(1);
    await flush();
    expect(next.value).toBe('id2');
  });

  it("keeps each master's lanes and replicas apart", async () => {
    const lanes = new AckLanes(1, 1, TIMEOUT_MS, () => Date.now());
    const { sent, send } = sends();
    watch(lanes.submit('a:1', Date.now(), send));
    const other = watch(lanes.submit('b:1', Date.now(), send));
    await flush();
    expect(sent).toHaveLength(2); // b's append does not wait for a's lane
    sent[1]?.reply(1);
    await flush();
    expect(other.value).toBe('id2');
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
