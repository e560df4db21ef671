/**
 * `tether-ws`: the same gateway as `tether`, on the portable edge (EDGE=ws: `ws` +
 * `node:http` instead of native uWebSockets.js, docs/edge.md) — what running where no
 * native uWS build loads costs. Node 20 cannot share a port without uWS, so one
 * gateway process only there.
 */
import type { RunningSystem, StartOptions } from './system.ts';
import { startTether } from './tether.ts';

export async function startTetherWs(options: StartOptions = {}): Promise<RunningSystem> {
  const tether = await startTether({ ...options, env: { ...options.env, EDGE: 'ws' } });
  return { ...tether, name: 'tether-ws' };
}
