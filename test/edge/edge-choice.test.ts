/**
 * Which edge runs: EDGE=ws always gets the portable edge; `auto` takes a native
 * build where one loads and says what it tried otherwise; EDGE=uws without a
 * build is refused with what would work. "Where no build loads" is a real
 * platform description with an ABI no build has (the loader looks for its files).
 */
import { describe, expect, it } from 'vitest';
import { currentPlatform } from '../../src/edge/platform.ts';
import { chooseEdge, EdgeUnavailableError, loadEdge } from '../../src/edge/select-edge.ts';
import { testedEdges } from './edge-harness.ts';

const nowhere = { ...currentPlatform(), node: 'v99.0.0', abi: '999' };

describe('choosing the edge', () => {
  it('EDGE=ws runs the portable edge, whatever loads', () => {
    const { edge, attempts } = chooseEdge('ws');
    expect(edge.info).toMatchObject({
      impl: 'ws',
      version: expect.stringMatching(/^ws@8\./),
      reason: 'EDGE=ws',
    });
    expect(attempts).toEqual([]);
  });

  it('auto falls back to the portable edge where no build loads, and says what it tried', () => {
    const { edge, attempts } = loadEdge('auto', nowhere);
    expect(edge.info.impl).toBe('ws');
    expect(edge.info.reason).toContain('no native uWS build loads on Node v99.0.0 (ABI 999)');
    expect(attempts.map((a) => a.build)).toEqual([
      expect.stringMatching(/^@btc-vision\/uwebsockets\.js@20\.57\.0$/),
      expect.stringMatching(/^@trufflesuite\/uws-js-unofficial@20\.30\./),
    ]);
    for (const attempt of attempts)
      expect(attempt.outcome).toMatch(/^no binary for ABI 999 \(has [\d, ]+\)$/);
  });

  it('EDGE=uws without a build is refused, naming Node, ABI, libc and what would work', () => {
    let refusal: unknown;
    try {
      loadEdge('uws', nowhere);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(EdgeUnavailableError);
    const message = (refusal as Error).message;
    expect(message).toContain(`Node v99.0.0 (ABI 999), ${nowhere.os}-${nowhere.arch}, ${nowhere.libc}`);
    expect(message).toContain('Node 20, 22, 24 or 25 on glibc ≥ 2.38');
    expect(message).toContain('Node 16, 18 or 20 on glibc ≥ 2.27');
    expect(message).toContain('EDGE=ws');
  });

  it.runIf(testedEdges().includes('uws'))('auto and uws take a native build where one loads here', () => {
    for (const preference of ['auto', 'uws'] as const) {
      const { edge } = chooseEdge(preference);
      expect(edge.info.impl).toBe('uws');
      expect(edge.info.reason).toMatch(/^native build .+ loads on Node /);
    }
  });
});
