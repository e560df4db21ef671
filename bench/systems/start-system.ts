/** Start any system under test by name. */
import type { SystemName } from '../lib/options.ts';
import { startPeer } from './peers.ts';
import type { RunningSystem, StartOptions } from './system.ts';
import { startTether } from './tether.ts';

export function startSystem(name: SystemName, options: StartOptions = {}): Promise<RunningSystem> {
  return name === 'tether' ? startTether(options) : startPeer(name, options);
}
