/**
 * Reconnect storm: N Tether clients on one channel, a backend publishing to it
 * throughout, and the gateway restarted under them (SIGTERM: it drains, closing
 * every client with 1012, and exits; then it starts again). Each client comes back
 * on the SDK's full-jitter backoff and resumes its session with its last event ID
 * (bench/load/clients/storm-client.ts). Reported:
 *   seconds_to_all_resumed  SIGTERM → the last client's resumed welcome
 *   restart_s               SIGTERM → the new gateway ready: drain_and_exit_s + start_s
 *   lost_events             Σ over clients of events stored in Redis but never received (must be 0)
 *   peak_connects_per_s     resumed welcomes in the busiest 1 s window
 *   max_event_loop_stall_ms the new gateway's longest event-loop stall from its start until
 *                           every client holds every event (tether_event_loop_stall_max_seconds,
 *                           the longest of the last 60 s, read every STALL_READ_MS meanwhile)
 * Tether only: the bare peers have no resume, and Socket.IO's connection state
 * recovery keeps missed packets in the server's memory, which a restart loses.
 *
 * Two restarts, each its own scenario:
 *   reconnect-storm          in place: SIGTERM, the old process drains and exits, then the
 *                            new one starts — the port is closed in between, so clients
 *                            coming back meet refused connects and back off further.
 *   reconnect-storm-rolling  the new processes start first on the same port (REUSE_PORT),
 *                            then the old ones get SIGTERM: clients closed by the drain
 *                            land on the new ones at once (test/integration/rolling-restart.test.ts).
 * In the rolling one the clock starts at the SIGTERM, and start_s is the new processes'
 * start before it.
 */
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis/keys.ts';
import { gatewaySample } from '../lib/gateway-sample.ts';
import { CpuMeter } from '../lib/proc-stats.ts';
import { progress } from '../lib/progress.ts';
import { allocateSourceAddresses } from '../lib/source-addresses.ts';
import { round, sum } from '../lib/stats.ts';
import { nowMs, sleep } from '../lib/timing.ts';
import type { StormStatsReply } from '../load/commands.ts';
import { startPublisher } from '../load/http-publisher.ts';
import { BENCH_PUBLISH_KEY, isTether, type RunningTether } from '../systems/tether.ts';
import { closeGroup, cpuPercent, type Scenario, type ScenarioContext, withSystem } from './scenario.ts';

/**
 * Quick caps the backoff window at 4 s (the SDK's `backoffMaxMs` option): with the
 * default 30 s cap, the last of the clients comes back up to 16 s after the gateway
 * did — a third of the quick run's 2-minute budget spent waiting. Full uses the defaults.
 */
const SIZES: Record<'quick' | 'full', { clients: number; resumeDeadlineMs: number; backoffMaxMs?: number }> =
  {
    quick: { clients: 1000, resumeDeadlineMs: 45_000, backoffMaxMs: 4000 },
    full: { clients: 15_000, resumeDeadlineMs: 150_000 },
  };
const IN_PLACE = 'reconnect-storm';
const ROLLING = 'reconnect-storm-rolling';
type Restart = 'in-place' | 'rolling';
const GROUP = 'storm';
const CHANNEL = 'storm';
const PUBLISH_PER_S = 20;
const BUCKET_MS = 250; // StormGroup's bucket width

export const stormScenario: Scenario = {
  names: [IN_PLACE, ROLLING],
  async run(ctx) {
    for (const [scenario, restart] of [
      [IN_PLACE, 'in-place'],
      [ROLLING, 'rolling'],
    ] as const) {
      if (!ctx.selected(scenario)) continue;
      const peers = ctx.options.systems.filter((s) => s !== 'tether');
      if (peers.length > 0)
        ctx.sink.note(
          scenario,
          peers.join(', '),
          'not run: Tether only (bare peers have no resume; Socket.IO keeps missed packets in the restarted process)',
        );
      if (!ctx.options.systems.includes('tether')) continue;
      await withSystem(ctx, scenario, 'tether', async (system) => {
        if (!isTether(system)) throw new Error('the storm needs the tether system');
        await storm(ctx, system, scenario, restart);
      });
    }
  },
};

/** When the clients were dropped, when the old processes had exited, when the new ones were ready. */
interface RestartTimes {
  droppedAt: number;
  stoppedAt: number;
  upAt: number;
  /** Rolling: the new processes' start, before the drop. */
  startMs: number;
  /** The new processes' CPU, and the generators', from the moment clients could reach them. */
  server: CpuMeter;
  generators: CpuMeter;
}

async function restartGateways(
  system: RunningTether,
  restart: Restart,
  generatorPids: number[],
): Promise<RestartTimes> {
  if (restart === 'in-place') {
    const droppedAt = nowMs();
    await system.stopGateways();
    const stoppedAt = nowMs();
    await system.startGateways();
    const upAt = nowMs();
    return {
      droppedAt,
      stoppedAt,
      upAt,
      startMs: upAt - stoppedAt,
      server: new CpuMeter(system.serverPids()),
      generators: new CpuMeter(generatorPids),
    };
  }
  const startedAt = nowMs();
  const stopPrevious = await system.startNextGateways();
  const upAt = nowMs();
  const server = new CpuMeter(system.serverPids());
  const generators = new CpuMeter(generatorPids);
  const droppedAt = nowMs();
  await stopPrevious();
  return { droppedAt, stoppedAt: nowMs(), upAt, startMs: upAt - startedAt, server, generators };
}

async function storm(
  ctx: ScenarioContext,
  system: RunningTether,
  scenario: string,
  restart: Restart,
): Promise<void> {
  const size = ctx.options.quick ? SIZES.quick : SIZES.full;
  const { sink, pool } = ctx;
  const counts = pool.split(size.clients);
  const connectMs = Math.max(60_000, size.clients * 10);
  progress(scenario, 'tether', `connecting ${size.clients} clients, each subscribed to one channel`);
  const ready = await pool.all(
    (i) =>
      (counts[i] ?? 0) > 0
        ? {
            type: 'storm-connect',
            group: GROUP,
            url: system.url,
            count: counts[i] as number,
            concurrency: 50,
            sourceAddresses: allocateSourceAddresses(counts[i] as number),
            userPrefix: `storm-g${i}`,
            jwtSecret: system.jwtSecret as string,
            channel: CHANNEL,
            backoffMaxMs: size.backoffMaxMs,
            timeoutMs: connectMs,
          }
        : undefined,
    connectMs + 30_000,
  );
  const connected = sum(ready.map((r) => r.connected));
  if (connected < size.clients)
    throw new Error(
      `only ${connected} of ${size.clients} connected: ${ready.find((r) => r.firstError)?.firstError}`,
    );

  if (size.backoffMaxMs !== undefined)
    sink.note(
      scenario,
      'tether',
      `quick run: client backoff capped at ${size.backoffMaxMs} ms (SDK default 30 s)`,
    );
  const publisher = startPublisher({
    httpUrl: system.httpUrl,
    apiKey: BENCH_PUBLISH_KEY,
    channel: CHANNEL,
    ratePerS: PUBLISH_PER_S,
    maxMs: size.resumeDeadlineMs + 120_000,
  });
  try {
    await sleep(1000); // some events delivered live before the drop
    progress(scenario, 'tether', `restarting the gateway (${restart}) under ${size.clients} clients`);
    const { droppedAt, stoppedAt, upAt, startMs, server, generators } = await restartGateways(
      system,
      restart,
      pool.pids(),
    );

    const stalls = watchStalls(system.httpUrl); // from here only the new processes listen
    const back = await waitForAll(ctx, scenario, size.resumeDeadlineMs);
    const serverCpu = server.read();
    const generatorCpu = generators.read();
    await sleep(1000); // and some delivered live after everyone is back
    const totals = await publisher.stop();
    const stored = await channelLength(system.redisUrl, CHANNEL);
    sink.note(
      scenario,
      'tether',
      `backend: ${totals.acked} publishes acknowledged, ${totals.failed} refused or unanswered (the gateway was down or busy), ${stored} events in the stream (an unanswered publish may still have been stored)`,
    );
    const final = await waitForEvents(ctx, stored);
    const stallMs = await stalls.stop(); // the replays after the welcomes included

    const allBack = back.connected === back.clients;
    if (!allBack)
      sink.note(
        scenario,
        'tether',
        `${back.connected} of ${back.clients} back after ${size.resumeDeadlineMs} ms`,
      );
    const down = Object.entries(final.disconnectedBecause).sort((a, b) => b[1] - a[1]);
    if (down.length > 0)
      sink.note(
        scenario,
        'tether',
        `not connected at the end: ${down.map(([why, n]) => `${n} × ${why}`).join(', ')}`,
      );
    // How every socket of the storm ended: refused connects while the gateway was down, and
    // what the gateway closed the others with (a thrashing run shows SERVER_TIMEOUT, SERVER_BUSY).
    const ends = Object.entries(final.socketEnds).sort((a, b) => b[1] - a[1]);
    sink.note(scenario, 'tether', `sockets ended: ${ends.map(([why, n]) => `${n} × ${why}`).join(', ')}`);
    if (final.resumeFailed > 0)
      sink.note(scenario, 'tether', `${final.resumeFailed} clients got a new session instead of resuming`);
    const add = (metric: string, value: number, unit: string) =>
      sink.add(scenario, 'tether', metric, value, unit);
    add('clients', final.clients, 'clients');
    add('resumed_clients', final.resumed, 'clients');
    add('seconds_to_all_resumed', allBack ? round((back.lastResumedAt - droppedAt) / 1000) : Number.NaN, 's');
    // Rolling: nothing is down, so no restart_s; the new processes started before the drop.
    if (restart === 'in-place') add('restart_s', round((upAt - droppedAt) / 1000), 's');
    add('drain_and_exit_s', round((stoppedAt - droppedAt) / 1000), 's');
    add('start_s', round(startMs / 1000), 's');
    add('lost_events', final.missing, 'events');
    add('duplicate_events', final.duplicates, 'events');
    add('events_published', stored, 'events');
    add('peak_connects_per_s', peakPerSecond(final.resumesPerBucket), '/s');
    add('connect_attempts_per_client', round(final.connectAttempts / final.clients), '');
    add('cpu_us_per_resume', round(serverCpu.totalUs / Math.max(1, back.resumed)), 'µs');
    // Near 100% with little waiting: the storm's time is the gateway's CPU per resume; far
    // below it with long waits for a core: the box was shared (generators, Redis, neighbours).
    add('server_cpu_pct', round(cpuPercent(serverCpu.totalUs, serverCpu.wallMs)), '% of a core');
    add('server_wait_pct', round(cpuPercent(serverCpu.waitUs, serverCpu.wallMs)), '% of the time');
    add('generator_cpu_pct', round(cpuPercent(generatorCpu.totalUs, generatorCpu.wallMs)), '% of a core');
    add('max_event_loop_stall_ms', round(stallMs), 'ms');
  } finally {
    await publisher.stop();
    await closeGroup(ctx, GROUP);
  }
}

/**
 * Every generator's storm figures added up (expected = events each client should
 * hold). While 15K clients take in their replays a generator may answer late.
 */
async function stats(ctx: ScenarioContext, expectedEvents: number): Promise<StormStatsReply> {
  const replies = await ctx.pool.all(() => ({ type: 'storm-stats', group: GROUP, expectedEvents }), 60_000);
  const buckets: Record<string, number> = {};
  for (const r of replies)
    for (const [at, n] of Object.entries(r.resumesPerBucket)) buckets[at] = (buckets[at] ?? 0) + n;
  const total = (key: keyof StormStatsReply) => sum(replies.map((r) => r[key] as number));
  return {
    clients: total('clients'),
    connected: total('connected'),
    resumed: total('resumed'),
    resumeFailed: total('resumeFailed'),
    lastResumedAt: Math.max(...replies.map((r) => r.lastResumedAt)),
    resumesPerBucket: buckets,
    missing: total('missing'),
    duplicates: total('duplicates'),
    clientsComplete: total('clientsComplete'),
    connectAttempts: total('connectAttempts'),
    disconnectedBecause: mergeCounts(replies.map((r) => r.disconnectedBecause)),
    socketEnds: mergeCounts(replies.map((r) => r.socketEnds)),
  };
}

/** Poll until every client is connected again, or the deadline. */
async function waitForAll(
  ctx: ScenarioContext,
  scenario: string,
  deadlineMs: number,
): Promise<StormStatsReply> {
  const deadline = Date.now() + deadlineMs;
  let lastShown = 0;
  for (;;) {
    const s = await stats(ctx, 0);
    if (s.connected === s.clients || Date.now() > deadline) return s;
    if (Date.now() - lastShown > 2000) {
      progress(scenario, 'tether', `back: ${s.connected}/${s.clients} (resumed ${s.resumed})`);
      lastShown = Date.now();
    }
    await sleep(250);
  }
}

/** Poll until every client holds `expected` events (replay and live delivery done), at most 60 s. */
async function waitForEvents(ctx: ScenarioContext, expected: number): Promise<StormStatsReply> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await stats(ctx, expected);
    if (s.missing === 0 || Date.now() > deadline) return s;
    await sleep(250);
  }
}

function mergeCounts(counts: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) merged[k] = (merged[k] ?? 0) + n;
  return merged;
}

/** Resumes in the busiest 1 s window, from 250 ms buckets. */
function peakPerSecond(buckets: Record<string, number>): number {
  const counts = new Map(Object.entries(buckets).map(([at, n]) => [Number(at), n]));
  let peak = 0;
  for (const start of counts.keys()) {
    let n = 0;
    for (let at = start; at < start + 1000; at += BUCKET_MS) n += counts.get(at) ?? 0;
    peak = Math.max(peak, n);
  }
  return peak;
}

/** Well within the gauge's 60 s window: no stall falls between two reads. */
const STALL_READ_MS = 5000;

/** The longest of the gateway's tether_event_loop_stall_max_seconds (ms) read until `stop`. */
function watchStalls(httpUrl: string): { stop(): Promise<number> } {
  let longest = 0;
  const read = () =>
    gatewaySample(httpUrl, /^tether_event_loop_stall_max_seconds (\S+)$/m).then(
      (seconds) => {
        longest = Math.max(longest, 1000 * seconds);
      },
      () => {}, // a read the busy gateway did not answer: the next one sees the same window
    );
  void read();
  const timer = setInterval(read, STALL_READ_MS);
  timer.unref(); // a storm that threw never stops it
  return {
    async stop() {
      clearInterval(timer);
      await read();
      return longest;
    },
  };
}

async function channelLength(redisUrl: string, channel: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await redis.xlen(redisKeys('tether').channel(channel));
  } finally {
    redis.disconnect();
  }
}
