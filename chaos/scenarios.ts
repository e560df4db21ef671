/**
 * The fault scenarios of `npm run chaos`. Each gets fresh Redis and gateway processes;
 * `fault` runs while ~50 clients are subscribed and the publisher is publishing, and
 * returns once the fault has healed. `knownIssue` names a defect filed against the
 * gateway that this scenario is expected to show until it is fixed.
 */
import type { ChaosClient } from './lib/chaos-client.ts';
import type { ChaosGateway, ChaosRedis } from './lib/processes.ts';
import { progress, sleep } from './lib/progress.ts';

export interface FaultContext {
  redis: ChaosRedis;
  gateways: ChaosGateway[];
  clients: ChaosClient[];
  /** Gateways the scenario killed for good: not expected alive at the end. */
  killedForGood: Set<ChaosGateway>;
}

export interface Scenario {
  name: string;
  title: string;
  appendOnly: boolean;
  gateways: number;
  fault(ctx: FaultContext): Promise<void>;
  knownIssue?: string;
}

/** Clients 0, 5, 10, … (10 of 50): spread over every channel. */
const someClients = (clients: ChaosClient[]) => clients.filter((_, i) => i % 5 === 0);

async function killRedis(ctx: FaultContext, downMs: number): Promise<void> {
  progress(`  SIGKILL redis-server (pid ${ctx.redis.pid}), down ${downMs / 1000} s`);
  await ctx.redis.kill();
  await sleep(downMs);
  await ctx.redis.restart();
  progress(`  redis-server back (pid ${ctx.redis.pid}, ${ctx.redis.appendOnly ? 'AOF' : 'no persistence'})`);
}

async function withSomeOffline(ctx: FaultContext, during: () => Promise<void>): Promise<void> {
  const away = someClients(ctx.clients);
  progress(`  ${away.length} clients go offline`);
  for (const client of away) client.goOffline();
  await sleep(1500);
  await during();
  await sleep(3000);
  progress(`  ${away.length} clients come back`);
  for (const client of away) client.goOnline();
}

const redisIssue =
  'issue 10 item 1: Redis without persistence restarted — a new stream looks complete, so clients are told recovered: true while acked events are gone';

export const SCENARIOS: Scenario[] = [
  {
    name: 'gateway-kill',
    title: 'Gateway SIGKILL, restarted on the same port 2 s later',
    appendOnly: true,
    gateways: 1,
    async fault({ gateways: [gw] }) {
      progress(`  SIGKILL ${gw!.name} (pid ${gw!.pid})`);
      await gw!.kill();
      await sleep(2000);
      await gw!.start();
      progress(`  ${gw!.name} restarted`);
    },
  },
  {
    name: 'gateway-stop',
    title: 'Gateway SIGSTOP for 15 s (half-open sockets), then SIGCONT',
    appendOnly: true,
    gateways: 1,
    async fault({ gateways: [gw] }) {
      progress(`  SIGSTOP ${gw!.name} for 15 s`);
      gw!.signal('SIGSTOP');
      await sleep(15_000);
      gw!.signal('SIGCONT');
      progress(`  SIGCONT ${gw!.name}`);
    },
  },
  {
    name: 'redis-kill-aof',
    title: 'Redis (AOF, fsync always) SIGKILL, restarted 3 s later; all clients connected',
    appendOnly: true,
    gateways: 1,
    fault: (ctx) => killRedis(ctx, 3000),
  },
  {
    name: 'redis-kill-aof-offline',
    title: 'Redis (AOF) SIGKILL and restart while 10 clients are offline',
    appendOnly: true,
    gateways: 1,
    fault: (ctx) => withSomeOffline(ctx, () => killRedis(ctx, 3000)),
  },
  {
    name: 'redis-kill-volatile',
    title: 'Redis without persistence SIGKILL, restarted empty 3 s later; all clients connected',
    appendOnly: false,
    gateways: 1,
    fault: (ctx) => killRedis(ctx, 3000),
  },
  {
    name: 'redis-kill-volatile-offline',
    title: 'Redis without persistence SIGKILL and restart while 10 clients are offline',
    appendOnly: false,
    gateways: 1,
    fault: (ctx) => withSomeOffline(ctx, () => killRedis(ctx, 3000)),
    knownIssue: redisIssue,
  },
  {
    name: 'redis-stop',
    title: 'Redis SIGSTOP for 10 s, then SIGCONT',
    appendOnly: true,
    gateways: 1,
    async fault({ redis }) {
      progress('  SIGSTOP redis-server for 10 s');
      redis.signal('SIGSTOP');
      await sleep(10_000);
      redis.signal('SIGCONT');
      progress('  SIGCONT redis-server');
    },
  },
  {
    name: 'two-gateways-one-killed',
    title: 'Two gateways on one Redis; one SIGKILLed for good, its clients move to the other',
    appendOnly: true,
    gateways: 2,
    async fault({ gateways, killedForGood }) {
      const victim = gateways[1]!;
      progress(`  SIGKILL ${victim.name} (pid ${victim.pid}) for good`);
      killedForGood.add(victim);
      await victim.kill();
    },
  },
];
