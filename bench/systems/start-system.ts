/** Start any system under test by name. */
import type { SystemName } from '../lib/options.ts';
import { startPeer } from './peers.ts';
import type { RunningSystem, StartOptions } from './system.ts';
import { startTether } from './tether.ts';
import { startTetherSse } from './tether-sse.ts';
import { startTetherWs } from './tether-ws.ts';

export function startSystem(name: SystemName, options: StartOptions = {}): Promise<RunningSystem> {
  if (name === 'tether-ws') return startTetherWs(options);
  if (name === 'tether-sse') return startTetherSse(options);
  return name === 'tether' ? startTether(options) : startPeer(name, options);
}
