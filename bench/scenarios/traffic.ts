/**
 * The traffic scenarios — relay, latency, fan-out — share one server start per
 * system (starting Tether costs seconds), one system after another. Every system
 * runs them; the durable floor and the durable peer run only these (issue 13).
 */
import { SYSTEM_NAMES } from '../lib/options.ts';
import { fanoutOn, fanoutSizes } from './fanout.ts';
import { relayOn } from './relay.ts';
import { type Scenario, systemsFor, withSystem } from './scenario.ts';

export const trafficScenarios: Scenario = {
  names: ['relay', 'latency', 'fanout'],
  async run(ctx) {
    for (const name of systemsFor(ctx, SYSTEM_NAMES)) {
      await withSystem(ctx, 'traffic', name, async (system) => {
        if (ctx.selected('relay') || ctx.selected('latency')) await relayOn(ctx, system);
        if (ctx.selected('fanout')) {
          for (const size of fanoutSizes(ctx.options.quick)) await fanoutOn(ctx, system, size);
        }
      });
    }
  },
};
