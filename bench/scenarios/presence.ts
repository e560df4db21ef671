/**
 * Presence (issue 15), Tether only, at 1K and 10K members in one channel: what a
 * join and a leave cost (the subscribe with presence and join/leave events on, next
 * to the same subscribe on a channel without), what a presence query costs (a first
 * page, a page from the middle, the count alone), and whether presence changes what
 * a publish costs (CPU per delivery on the two channels, same subscribers). Gateway
 * and Redis CPU are read from /proc around each step; the sockets are the bench
 * process's own (load/clients/presence-members.ts). Runs only when named:
 * `npm run bench -- --quick --scenario presence --system tether` (about 100 s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowMs } from '../../src/presence/membership-feed.ts';
import { progress } from '../lib/progress.ts';
import { median, percentile, round } from '../lib/stats.ts';
import { sleep } from '../lib/timing.ts';
import { MemberGroup } from '../load/clients/presence-members.ts';
import type { RunningSystem } from '../systems/system.ts';
import { BENCH_PUBLISH_KEY, isTether, type RunningTether } from '../systems/tether.ts';
import { measure, noteResolution, type Scenario, type ScenarioContext, withSystem } from './scenario.ts';

const SCENARIO = 'presence';
const SIZES = [1000, 10_000];
/** Queries per kind (after as many to warm up); publishes per channel per round for the delivery cost. */
const QUERIES = 300;
/** Rounds of joins and leaves: this many members over all rounds (10 rounds at 1K, 1 at 10K). */
const ROUND_MEMBERS = 10_000;
const publishesFor = (members: number) => Math.max(10, Math.round(100_000 / members));
const DELIVERY_ROUNDS = 5;
/** `pres`: presence and join/leave events; `seen`: presence alone; any other namespace: neither. */
const NAMESPACES = { pres: { presence: true, joinLeave: true }, seen: { presence: true } };
/** Long enough for the last coalesced membership frame (a window is 2.5 s at 10K members). */
const settleMs = (members: number) => windowMs(members) + 500;
const label = (n: number) => `${n / 1000}k`;

export const presenceScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    // Only when named (`--scenario presence`): it adds ~100 s, and the quick run and the
    // regression guard keep their time budget.
    const named = ctx.options.scenarios.some((name) => SCENARIO.startsWith(name));
    if (!ctx.options.systems.includes('tether') || !named) return;
    await withSystem(
      ctx,
      SCENARIO,
      'tether',
      async (system) => {
        for (const members of SIZES) await presenceAt(ctx, system, members);
      },
      { env: { CONFIG_FILE: configFile() } },
    );
  },
};

/** One size's run: its sockets, its channels, and CPU per operation with the idle cost taken off. */
interface Trial {
  ctx: ScenarioContext;
  system: RunningTether;
  members: number;
  group: MemberGroup;
  channels: { off: string; presence: string; events: string };
  add(metric: string, value: number, unit: string): void;
  step(what: string): void;
  perOp(
    body: () => Promise<unknown>,
    ops: number,
  ): Promise<{ gateway: number; withRedis: number; serverUs: number }>;
}

async function presenceAt(ctx: ScenarioContext, system: RunningSystem, members: number): Promise<void> {
  if (!isTether(system)) return;
  const step = (what: string) => progress(SCENARIO, 'tether', `${label(members)} members: ${what}`);
  step('connecting');
  const group = await MemberGroup.connect(system.url, system.jwtSecret as string, members, `p${members}`);
  try {
    // What the gateway and Redis burn doing nothing with these sockets held (timers, leases):
    // taken off every step, or the waits for coalesced frames would count as joins.
    const idle = await measure(system, ctx.pool, () => sleep(2000));
    const idlePerMs = { gateway: idle.serverUs / idle.wallMs, redis: idle.auxUs / idle.wallMs };
    const trial: Trial = {
      ctx,
      system,
      members,
      group,
      channels: { off: `plain:${members}`, presence: `seen:${members}`, events: `pres:${members}` },
      add: (metric, value, unit) =>
        ctx.sink.add(SCENARIO, 'tether', `${metric}_${label(members)}`, round(value), unit),
      step,
      perOp: async (body, ops) => {
        const m = await measure(system, ctx.pool, body);
        const gateway = Math.max(0, m.serverUs - idlePerMs.gateway * m.wallMs);
        const redis = Math.max(0, m.auxUs - idlePerMs.redis * m.wallMs);
        return { gateway: gateway / ops, withRedis: (gateway + redis) / ops, serverUs: m.serverUs };
      },
    };
    // A 1K round rests on a few clock ticks: repeat it, and pool the CPU over the rounds.
    const rounds = Math.max(1, Math.round(ROUND_MEMBERS / members));
    const spent = { join: new Spent(), leave: new Spent() };
    for (let round = 1; round <= rounds; round++) {
      step(`round ${round}/${rounds}`);
      await membershipChanges(trial, 'subscribe', spent.join);
      if (round === 1) {
        await queries(trial);
        await deliveries(trial);
      }
      await membershipChanges(trial, 'unsubscribe', spent.leave);
    }
    spent.join.report(trial, 'join', rounds);
    spent.leave.report(trial, 'leave', rounds);
  } finally {
    group.close();
  }
}

type Cost = Awaited<ReturnType<Trial['perOp']>>;

/** Joins (or leaves) of every round, per kind of channel, pooled. */
class Spent {
  private readonly costs = { off: [] as Cost[], presence: [] as Cost[], events: [] as Cost[] };
  private frames = 0;

  add(which: keyof Spent['costs'], cost: Cost): void {
    this.costs[which].push(cost);
  }

  addFrames(count: number): void {
    this.frames += count;
  }

  report(trial: Trial, verb: 'join' | 'leave', rounds: number): void {
    const mean = (costs: Cost[], key: 'gateway' | 'withRedis') =>
      costs.reduce((t, c) => t + c[key], 0) / costs.length;
    trial.add(`cpu_us_per_${verb}_presence_off`, mean(this.costs.off, 'gateway'), 'µs');
    trial.add(`cpu_us_per_${verb}_presence_on`, mean(this.costs.presence, 'gateway'), 'µs');
    trial.add(`cpu_us_per_${verb}_presence_and_events`, mean(this.costs.events, 'gateway'), 'µs');
    trial.add(`cpu_us_per_${verb}_presence_on_with_redis`, mean(this.costs.presence, 'withRedis'), 'µs');
    trial.add(
      `cpu_us_per_${verb}_presence_and_events_with_redis`,
      mean(this.costs.events, 'withRedis'),
      'µs',
    );
    trial.add(`membership_frames_per_member_${verb}`, this.frames / rounds / trial.members, 'frames');
    const serverUs = this.costs.presence.reduce((t, c) => t + c.serverUs, 0);
    noteResolution(
      trial.ctx,
      SCENARIO,
      'tether',
      `cpu_us_per_${verb}_presence_on_${label(trial.members)}`,
      serverUs,
    );
  }
}

/** Every member subscribes (or unsubscribes) at once: without presence, with it, with it and events. */
async function membershipChanges(trial: Trial, kind: 'subscribe' | 'unsubscribe', spent: Spent) {
  const { group, channels, members, perOp } = trial;
  spent.add('off', await perOp(() => group.all(kind, channels.off), members));
  spent.add('presence', await perOp(() => group.all(kind, channels.presence), members));
  group.reset();
  const events = await perOp(async () => {
    await group.all(kind, channels.events);
    await sleep(settleMs(members));
  }, members);
  spent.add('events', events);
  spent.addFrames(group.received.membership);
}

/** A first page of 100, a page of 100 from the middle, the count alone: latency and CPU (gateway + Redis). */
async function queries(trial: Trial): Promise<void> {
  const { system, members, add } = trial;
  trial.step('presence queries');
  const page = (query: string) =>
    fetchJson(`${system.httpUrl}/channels/${trial.channels.events}/presence?${query}`);
  const first = await page('limit=100');
  if (first.count !== members)
    trial.ctx.sink.note(SCENARIO, 'tether', `${label(members)}: count ${first.count}, expected ${members}`);
  let middle: string | undefined;
  for (let seen = 0, cursor: string | undefined; seen < members / 2; ) {
    const next = await page(`limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    seen += next.members.length;
    cursor = next.cursor ?? undefined;
    middle = cursor;
    if (!cursor) break;
  }
  for (const [metric, query] of [
    ['presence_page_ms', 'limit=100'],
    ['presence_page_middle_ms', `limit=100&cursor=${middle}`],
    ['presence_count_ms', 'limit=0'],
  ] as const) {
    for (let i = 0; i < QUERIES; i++) await page(query); // warm-up
    const latencies: number[] = [];
    const cost = await trial.perOp(async () => {
      for (let i = 0; i < QUERIES; i++) {
        const started = performance.now();
        await page(query);
        latencies.push(performance.now() - started);
      }
    }, QUERIES);
    add(`${metric}_p50`, percentile(latencies, 50), 'ms');
    add(`cpu_us_per_${metric.replace(/_ms$/, '')}_with_redis`, cost.withRedis, 'µs');
  }
}

/** The same subscribers: publishes to the channel without presence and to the one with it, interleaved. */
async function deliveries(trial: Trial): Promise<void> {
  const { group, members, channels, system } = trial;
  trial.step('publishing to the channel without presence and to the one with it');
  const publishes = publishesFor(members);
  const spent = { off: [] as number[], events: [] as number[] };
  // Interleaved rounds, the median of each: a lease refresh or a GC lands in one round, not in one side.
  for (let round = 0; round < DELIVERY_ROUNDS; round++) {
    for (const which of ['off', 'events'] as const) {
      group.reset();
      const cost = await trial.perOp(async () => {
        for (let i = 0; i < publishes; i++) await publish(system.httpUrl, channels[which], i);
        await group.events(publishes * members);
      }, publishes * members);
      spent[which].push(cost.gateway);
    }
  }
  trial.add('cpu_us_per_delivery_presence_off', median(spent.off), 'µs');
  trial.add('cpu_us_per_delivery_presence_and_events', median(spent.events), 'µs');
}

/** The gateway's CONFIG_FILE with the namespaces this scenario needs, in a temp directory. */
function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-presence-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ namespaces: NAMESPACES }));
  return file;
}

async function fetchJson(url: string): Promise<{ count: number; members: unknown[]; cursor: string | null }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${BENCH_PUBLISH_KEY}` } });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { count: number; members: unknown[]; cursor: string | null };
}

async function publish(httpUrl: string, channel: string, n: number): Promise<void> {
  const res = await fetch(`${httpUrl}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_PUBLISH_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data: { n } }),
  });
  if (res.status !== 200) throw new Error(`publish: ${res.status}`);
}
