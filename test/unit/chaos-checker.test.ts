/**
 * chaos/lib/checker.ts judges the gateway in `npm run chaos`; a checker that cannot
 * fail would pass every scenario. Here it is given deliveries with known defects.
 */
import { describe, expect, it } from 'vitest';
import { ChaosClient } from '../../chaos/lib/chaos-client.ts';
import { checkClient, judge, totals } from '../../chaos/lib/checker.ts';
import type { AckedEvent } from '../../chaos/lib/publisher.ts';

const acked: AckedEvent[] = [1, 2, 3, 4, 5].map((n) => ({ channel: 'a', id: `${n}-0`, n, at: n * 10 }));

function clientWith(ids: string[], start = '0-0'): ChaosClient {
  const client = new ChaosClient('c', ['ws://unused'], 'token', ['a']);
  client.initial.set('a', start);
  client.deliveries.set(
    'a',
    ids.map((id) => ({ id, at: 0 })),
  );
  return client;
}

describe('checkClient', () => {
  it('passes a client that got every acked event once, in order', () => {
    const verdict = checkClient(clientWith(['1-0', '2-0', '3-0', '4-0', '5-0']), acked);
    expect(verdict).toMatchObject({ expected: 5, lostSilently: 0, duplicates: 0, outOfOrder: 0 });
  });

  it('counts only events after where the client started', () => {
    expect(checkClient(clientWith(['4-0', '5-0'], '3-0'), acked)).toMatchObject({
      expected: 2,
      lostSilently: 0,
    });
  });

  it('finds a silent gap, a duplicate and a step backwards', () => {
    const verdict = checkClient(clientWith(['1-0', '3-0', '3-0', '2-0', '5-0']), acked);
    expect(verdict).toMatchObject({ lostSilently: 1, duplicates: 1, outOfOrder: 1 });
    expect(verdict.examples).toEqual(['a 4-0 (n=4)']);
  });

  it('counts a loss the client was told about (recovered: false) as reported, not silent', () => {
    const client = clientWith(['1-0', '4-0', '5-0']);
    client.reports.push({ channel: 'a', position: '1-0', after: '3-0', at: 100 });
    expect(checkClient(client, acked)).toMatchObject({
      lostSilently: 0,
      lostReported: 2,
      needlessReports: 0,
    });
  });

  it('a report about another range or channel does not excuse a loss', () => {
    const client = clientWith(['1-0', '2-0', '3-0', '5-0']);
    client.reports.push({ channel: 'b', position: '0-0', after: '9-0', at: 100 });
    client.reports.push({ channel: 'a', position: '4-0', after: '9-0', at: 0 });
    expect(checkClient(client, acked)).toMatchObject({ lostSilently: 1, needlessReports: 2 });
  });

  it('flags a client that never subscribed, and counts all its events as lost', () => {
    const client = new ChaosClient('c', ['ws://unused'], 'token', ['a']);
    expect(checkClient(client, acked)).toMatchObject({ neverSubscribed: true, lostSilently: 5 });
  });
});

describe('judge', () => {
  it('breaks the promise each defect contradicts, and only that one', () => {
    const verdicts = [checkClient(clientWith(['1-0', '2-0', '2-0', '3-0', '4-0', '5-0']), acked)];
    const promises = judge(
      totals(verdicts),
      { caughtUp: 1, clients: 1, waitedMs: 0 },
      { expected: 1, alive: 1 },
    );
    expect(promises.filter((p) => !p.held).map((p) => p.id)).toEqual(['exactly-once']);
  });
});
