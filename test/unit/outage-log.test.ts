/**
 * The outage log (src/observability/outage-log.ts) on a clock the test moves: a source's
 * errors are one line per SUMMARY_EVERY_MS with how many went unlogged; an outage is one
 * warn line and one info line, with the errors of its sources counted in the latter.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { OutageLog, SUMMARY_EVERY_MS } from '../../src/observability/outage-log.ts';

let lines: Record<string, unknown>[];
let log: OutageLog;
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  lines = [];
  const destination = { write: (line: string) => lines.push(JSON.parse(line)) };
  log = new OutageLog(createLogger('info', 'n', { destination }), 'redis');
});
afterEach(() => vi.useRealTimers());

const said = () => lines.map(({ level, msg, suppressed, downMs }) => ({ level, msg, suppressed, downMs }));

describe('a source reporting errors while the connection holds', () => {
  it('is logged at once, then once per SUMMARY_EVERY_MS with the count not logged', () => {
    for (let i = 0; i < 6; i++) log.error('action queue', new Error('boom'));
    vi.advanceTimersByTime(SUMMARY_EVERY_MS);
    log.error('action queue', new Error('boom'));
    log.error('admission queue', new Error('bang')); // another source: its own count
    expect(said()).toEqual([
      { level: 40, msg: 'action queue error' },
      { level: 40, msg: 'action queue error', suppressed: 5 },
      { level: 40, msg: 'admission queue error' },
    ]);
  });
});

describe('an outage', () => {
  it('is one warn line, its sources counted, and one info line with how long it lasted', () => {
    log.lost();
    for (let i = 0; i < 40; i++) {
      log.lost(); // every failed reconnect
      log.error('admission worker', new Error('ECONNREFUSED'));
      vi.advanceTimersByTime(250);
    }
    log.restored();
    expect(said()).toEqual([
      { level: 40, msg: 'redis connection lost; reconnecting' },
      { level: 30, msg: 'redis connection restored', downMs: 10_000, suppressed: { 'admission worker': 40 } },
    ]);
    expect(log.restored()).toBe(false); // nothing more to end
  });

  it('a long one: each source summarized once per SUMMARY_EVERY_MS', () => {
    log.lost();
    for (let i = 0; i < 10; i++) {
      log.error('action queue', new Error('ECONNREFUSED'));
      vi.advanceTimersByTime(SUMMARY_EVERY_MS / 4);
    }
    log.restored();
    expect(said().map(({ msg, suppressed }) => [msg, suppressed])).toEqual([
      ['redis connection lost; reconnecting', undefined],
      ['action queue error', 4],
      ['action queue error', 3],
      ['redis connection restored', { 'action queue': 1 }],
    ]);
  });
});
