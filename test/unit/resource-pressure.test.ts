/**
 * pressureOf (src/admission/resource-monitor.ts): a resource sample → the pool's
 * pressure level. Any one measure past its threshold is enough; `critical` wins
 * over `high`; a threshold is reached at equality; a threshold of 0 turns its measure
 * off at its level (every one of the six); lag past the shed threshold is critical only on the second
 * sample in a row (one stall saturates, a sustained one sheds).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pressureOf, ResourceMonitor, type ResourceSample } from '../../src/admission/resource-monitor.ts';
import { type AdmissionConfig, loadConfig } from '../../src/config/config.ts';

/** The documented defaults: lag 100/500 ms, heap 0.85/0.95, buffered 256/512 MiB. */
const defaults = loadConfig({}).admission;
const MiB = 1024 * 1024;
const calm = { lagMs: 5, heapRatio: 0.3, bufferedBytes: 0 };

describe('pressureOf', () => {
  it('is normal when every measure is under its saturate threshold', () => {
    expect(pressureOf(calm, defaults)).toBe('normal');
    expect(pressureOf({ lagMs: 99.9, heapRatio: 0.849, bufferedBytes: 256 * MiB - 1 }, defaults)).toBe(
      'normal',
    );
  });

  it('event-loop lag: high from SATURATE_EVENT_LOOP_LAG_MS, critical from SHED_EVENT_LOOP_LAG_MS sustained', () => {
    expect(pressureOf({ ...calm, lagMs: 100 }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, lagMs: 499 }, defaults, true)).toBe('high');
    expect(pressureOf({ ...calm, lagMs: 500 }, defaults, true)).toBe('critical');
  });

  it('one stall past SHED_EVENT_LOOP_LAG_MS, however long, only saturates: shedding needs it twice in a row', () => {
    expect(pressureOf({ ...calm, lagMs: 500 }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, lagMs: 60_000 }, defaults, false)).toBe('high');
    expect(pressureOf({ ...calm, lagMs: 60_000 }, defaults, true)).toBe('critical');
  });

  it('memory past its shed threshold is critical at once, with no stall before it', () => {
    expect(pressureOf({ ...calm, heapRatio: 0.95 }, defaults, false)).toBe('critical');
    expect(pressureOf({ ...calm, bufferedBytes: 512 * MiB }, defaults, false)).toBe('critical');
  });

  it('heap ratio: high from SATURATE_HEAP_RATIO, critical from SHED_HEAP_RATIO', () => {
    expect(pressureOf({ ...calm, heapRatio: 0.85 }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, heapRatio: 0.94 }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, heapRatio: 0.95 }, defaults)).toBe('critical');
    expect(pressureOf({ ...calm, heapRatio: 1 }, defaults)).toBe('critical');
  });

  it('buffered bytes: high from SATURATE_BUFFERED_BYTES, critical from SHED_BUFFERED_BYTES', () => {
    expect(pressureOf({ ...calm, bufferedBytes: 256 * MiB }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, bufferedBytes: 512 * MiB - 1 }, defaults)).toBe('high');
    expect(pressureOf({ ...calm, bufferedBytes: 512 * MiB }, defaults)).toBe('critical');
  });

  it('a buffered-bytes threshold of 0 turns that measure off, at either level', () => {
    const off: AdmissionConfig = {
      ...defaults,
      saturate: { ...defaults.saturate, bufferedBytes: 0 },
      shed: { ...defaults.shed, bufferedBytes: 0 },
    };
    expect(pressureOf({ ...calm, bufferedBytes: 10_000 * MiB }, off)).toBe('normal');
    const shedOnly: AdmissionConfig = { ...defaults, saturate: { ...defaults.saturate, bufferedBytes: 0 } };
    expect(pressureOf({ ...calm, bufferedBytes: 300 * MiB }, shedOnly)).toBe('normal');
    expect(pressureOf({ ...calm, bufferedBytes: 600 * MiB }, shedOnly)).toBe('critical');
  });

  it('a heap or lag threshold of 0 turns that measure off too, at either level (SHED_HEAP_RATIO=0 sheds nobody)', () => {
    const heapOff = loadConfig({ SATURATE_HEAP_RATIO: '0', SHED_HEAP_RATIO: '0' }).admission;
    expect(pressureOf({ ...calm, heapRatio: 0 }, heapOff)).toBe('normal');
    expect(pressureOf({ ...calm, heapRatio: 1 }, heapOff)).toBe('normal');
    const heapSaturateOnly = loadConfig({ SATURATE_HEAP_RATIO: '0.5', SHED_HEAP_RATIO: '0' }).admission;
    expect(pressureOf({ ...calm, heapRatio: 0.4 }, heapSaturateOnly)).toBe('normal');
    expect(pressureOf({ ...calm, heapRatio: 0.99 }, heapSaturateOnly)).toBe('high');
    const lagOff = loadConfig({ SATURATE_EVENT_LOOP_LAG_MS: '0', SHED_EVENT_LOOP_LAG_MS: '0' }).admission;
    expect(pressureOf({ ...calm, lagMs: 0 }, lagOff, true)).toBe('normal');
    expect(pressureOf({ ...calm, lagMs: 60_000 }, lagOff, true)).toBe('normal');
    const lagShedOnly = loadConfig({ SATURATE_EVENT_LOOP_LAG_MS: '0' }).admission;
    expect(pressureOf({ ...calm, lagMs: 200 }, lagShedOnly, true)).toBe('normal');
    expect(pressureOf({ ...calm, lagMs: 500 }, lagShedOnly, false)).toBe('high');
    expect(pressureOf({ ...calm, lagMs: 500 }, lagShedOnly, true)).toBe('critical');
  });

  it('one measure past its threshold is enough, and the worst level wins', () => {
    expect(pressureOf({ lagMs: 150, heapRatio: 0.3, bufferedBytes: 0 }, defaults)).toBe('high');
    expect(pressureOf({ lagMs: 150, heapRatio: 0.96, bufferedBytes: 0 }, defaults)).toBe('critical');
    expect(pressureOf({ lagMs: 600, heapRatio: 0.9, bufferedBytes: 0 }, defaults)).toBe('high');
    expect(pressureOf({ lagMs: 5, heapRatio: 0.9, bufferedBytes: 600 * MiB }, defaults)).toBe('critical');
  });

  it('follows configured thresholds, not only the defaults', () => {
    const strict = loadConfig({ SATURATE_HEAP_RATIO: '0.5', SHED_HEAP_RATIO: '0.6' }).admission;
    expect(pressureOf({ ...calm, heapRatio: 0.55 }, strict)).toBe('high');
    expect(pressureOf({ ...calm, heapRatio: 0.6 }, strict)).toBe('critical');
  });
});

describe('ResourceMonitor', () => {
  it('sees a single stall in full, in one sample only, and holds it for every reader', async () => {
    const samples: ResourceSample[] = [];
    const monitor = new ResourceMonitor(
      { ...defaults, sampleMs: 500 },
      () => 0,
      (s) => samples.push(s),
    );
    monitor.start();
    try {
      await sleep(600);
      const blockedUntil = Date.now() + 1500;
      while (Date.now() < blockedUntil) {}
      await sleep(1200); // two more samples
      const stalls = samples.filter((s) => s.lagMs >= 1400);
      expect(stalls, samples.map((s) => s.lagMs.toFixed(0)).join(' ')).toHaveLength(1);
      expect(stalls[0]?.lagMs).toBeLessThan(1600);
      // The sample after it: the stall is not counted again (one stall is not two in a row).
      expect(samples[samples.indexOf(stalls[0] as ResourceSample) + 1]?.lagMs).toBeLessThan(500);
      expect(monitor.longestLagMs()).toBe(stalls[0]?.lagMs);
      expect(monitor.longestLagMs()).toBe(stalls[0]?.lagMs); // reading it resets nothing
    } finally {
      monitor.stop();
    }
  });
});
