/**
 * Choose the edge once per process (per preference): `EDGE=uws` demands a native
 * uWS build and refuses to start without one; `EDGE=ws` takes the portable edge;
 * `auto` takes native uWS when a build loads here, else the portable edge — and
 * says which, and why, so a fallback is never silent.
 */
import type { Edge, EdgePreference } from './edge-port.ts';
import { type Attempt, loadNativeUws, NATIVE_BUILDS } from './native-uws.ts';
import { currentPlatform, type Platform, platformText } from './platform.ts';
import { createWsEdge } from './ws-edge/ws-edge.ts';

/** The chosen edge and what was tried before it (the start-up log prints both). */
export interface EdgeChoice {
  edge: Edge;
  attempts: readonly Attempt[];
}

/** `EDGE=uws` where no native build loads. The message says what would work. */
export class EdgeUnavailableError extends Error {
  override name = 'EdgeUnavailableError';
  constructor(
    readonly platform: Platform,
    readonly attempts: readonly Attempt[],
  ) {
    const tried = attempts.map((a) => `    ${a.build}: ${a.outcome}`).join('\n');
    const wouldWork = NATIVE_BUILDS.map((b) => `    ${b.published}: ${b.needs}`).join('\n');
    super(
      `EDGE=uws: no native uWebSockets.js build loads on ${platformText(platform)}.\n` +
        `  Tried:\n${tried}\n  Would work:\n${wouldWork}\n` +
        '  Or run the portable edge here: EDGE=ws (or EDGE=auto, the default).',
    );
  }
}

const chosen = new Map<EdgePreference, EdgeChoice>();

/** The edge for `preference`, loaded once; throws EdgeUnavailableError for an unmet `uws`. */
export function chooseEdge(preference: EdgePreference): EdgeChoice {
  let choice = chosen.get(preference);
  if (!choice) {
    choice = loadEdge(preference, currentPlatform());
    chosen.set(preference, choice);
  }
  return choice;
}

/** The edge for `preference` on `platform` (not remembered: chooseEdge is the process's choice). */
export function loadEdge(preference: EdgePreference, platform: Platform): EdgeChoice {
  if (preference === 'ws') return { edge: createWsEdge('EDGE=ws'), attempts: [] };
  const native = loadNativeUws(platform);
  if (native.edge) return native;
  if (preference === 'uws') throw new EdgeUnavailableError(platform, native.attempts);
  return {
    edge: createWsEdge(`EDGE=auto and no native uWS build loads on ${platformText(platform)}`),
    attempts: native.attempts,
  };
}

/**
 * The start-up log's fields: which edge, why, on what, and what was tried before it. The Node
 * version is `nodeVersion`: `node` is the process's NODE_ID on every log line, and a second
 * `node` key would make the line's JSON carry it twice (the last one wins in most parsers).
 */
export function edgeLogFields(choice: EdgeChoice): Record<string, unknown> {
  const { impl, version, reason } = choice.edge.info;
  const { node, abi, libc } = currentPlatform();
  return { edge: impl, build: version, reason, nodeVersion: node, abi, libc, tried: choice.attempts };
}
