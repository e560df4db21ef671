/**
 * The traffic scenarios. Relay and latency start every system at once and go round
 * them trial by trial (bench/scenarios/relay.ts); fan-out then starts each system in
 * turn, as its 10K subscribers want the box to themselves. Every system runs them;
 * the durable floor and the durable peer run only these (issue 13).
 */
import { SYSTEM_NAMES } from '../lib/options.ts';
import { fanoutOn, fanoutSizes } from './fanout.ts';
import { relayOn } from './relay.ts';
import { type Scenario, systemsFor, withSystem, withSystems } from './scenario.ts';

export const trafficScenarios: Scenario = {
  names: ['relay', 'latency', 'fanout'],
  async run(ctx) {
    const names = systemsFor(ctx, SYSTEM_NAMES);
    if (ctx.selected('relay') || ctx.selected('latency'))
      await withSystems(ctx, 'traffic', names, (systems, failed) => relayOn(ctx, systems, failed));
    if (!ctx.selected('fanout')) return;
    for (const name of names) {
      await withSystem(ctx, 'traffic', name, async (system) => {
        for (const size of fanoutSizes(ctx.options.quick)) await fanoutOn(ctx, system, size);
      });
    }
  },
};
