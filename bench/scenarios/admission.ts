/**
 * Admission (issue 3): server CPU per admitted connection with and without the
 * queue path, and proof that admission with room never touches BullMQ.
 *
 * The same round runs on two Tether gateways: k holders connected; k newcomers
 * connect all at once; once every newcomer is admitted or waiting, the holders
 * close; the round ends when every newcomer has its welcome.
 *   direct: room for everyone (the bench's MAX_CONNECTIONS): newcomers are admitted
 *           at once → cpu_us_per_admit_direct;
 *   queued: MAX_CONNECTIONS = k: the pool is full, newcomers wait in the BullMQ
 *           admission queue and get in as the holders leave → cpu_us_per_admit_queued.
 * Both figures are the gateway's CPU for the whole round (newcomers' upgrade, JWT,
 * session, welcome; holders' closes) ÷ newcomers admitted, so their difference is
 * the queue path. Redis command counts come from INFO commandstats; commands naming
 * the admission queue are counted with MONITOR (admission_queue_cmds_*: 0 when direct).
 */
import { Redis } from 'ioredis';
import { admissionQueueName } from '../../src/admission/admission-queue.ts';
import { gatewaySample } from '../lib/gateway-sample.ts';
import { progress } from '../lib/progress.ts';
import { round, sum } from '../lib/stats.ts';
import { waitUntil } from '../lib/timing.ts';
import { isTether, type RunningTether } from '../systems/tether.ts';
import {
  closeGroup,
  connectGroup,
  measure,
  noteResolution,
  pooledPerOp,
  type Scenario,
  type ScenarioContext,
  systemsFor,
  withSystem,
} from './scenario.ts';

const SCENARIO = 'admission';
/** Newcomers (and holders) per round; one unmeasured warm-up round comes first. */
const SIZES = { quick: { k: 200, rounds: 1 }, full: { k: 1000, rounds: 3 } };
/** bench/systems/tether.ts names its first gateway process so. */
const GATEWAY_NODE_ID = 'bench-1';

type Path = 'direct' | 'queued';

interface RoundResult {
  admitted: number;
  queued: number;
  serverUs: number;
  redisCommands: number;
  admissionQueueCommands: number;
}

export const admissionScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    if (systemsFor(ctx, ['tether']).length === 0) return;
    const { k } = ctx.options.quick ? SIZES.quick : SIZES.full;
    for (const path of ['direct', 'queued'] as const) {
      await withSystem(ctx, SCENARIO, 'tether', (system) => measurePath(ctx, system as RunningTether, path), {
        env: path === 'queued' ? { MAX_CONNECTIONS: String(k) } : {},
      });
    }
  },
};

async function measurePath(ctx: ScenarioContext, system: RunningTether, path: Path): Promise<void> {
  if (!isTether(system)) throw new Error('the admission scenario needs the tether system');
  const { k, rounds } = ctx.options.quick ? SIZES.quick : SIZES.full;
  const redis = new Redis(system.redisUrl);
  // Ready first: its ready check (INFO) logged in the same read as MONITOR's OK would reach
  // ioredis before it counts the connection as monitoring ("Command queue state error").
  await redis.ping();
  const monitor = await redis.monitor(); // a connection of its own; `redis` stays usable
  const queueName = admissionQueueName(GATEWAY_NODE_ID);
  let queueCommands = 0;
  monitor.on('monitor', (_time: string, args: unknown[]) => {
    if (args.some((arg) => String(arg).includes(queueName))) queueCommands++;
  });
  try {
    progress(SCENARIO, 'tether', `${path}: warm-up round of ${k}`);
    await admissionRound(ctx, system, path, k, 'warm-up', { redis, queueCommands: () => queueCommands });
    const results: RoundResult[] = [];
    for (let r = 1; r <= rounds; r++) {
      progress(SCENARIO, 'tether', `${path}: round ${r}/${rounds} of ${k}`);
      results.push(
        await admissionRound(ctx, system, path, k, `r${r}`, { redis, queueCommands: () => queueCommands }),
      );
    }
    report(ctx, path, k, results);
  } finally {
    monitor.disconnect();
    redis.disconnect();
  }
}

async function admissionRound(
  ctx: ScenarioContext,
  system: RunningTether,
  path: Path,
  k: number,
  name: string,
  counters: { redis: Redis; queueCommands: () => number },
): Promise<RoundResult> {
  const holders = await connectGroup(ctx, system, `admission-holders-${path}-${name}`, k);
  if (holders.connected < k)
    throw new Error(`only ${holders.connected} of ${k} holders: ${holders.firstError}`);
  const queuedBefore = await admissionsQueued(system.httpUrl);
  const commandsBefore = await commandCalls(counters.redis);
  const queueCommandsBefore = counters.queueCommands();
  const m = await measure(system, ctx.pool, async () => {
    const joining = connectGroup(ctx, system, `admission-newcomers-${path}-${name}`, k, {
      concurrency: k,
      timeoutMs: 60_000,
    });
    let joined = false;
    void joining.finally(() => {
      joined = true;
    });
    await waitUntil(
      'every newcomer admitted or waiting',
      async () => joined || (await queueDepth(system.httpUrl)) >= k,
      60_000,
    );
    await closeGroup(ctx, `admission-holders-${path}-${name}`);
    return joining;
  });
  const redisCommands = (await commandCalls(counters.redis)) - commandsBefore;
  const queued = (await admissionsQueued(system.httpUrl)) - queuedBefore;
  await closeGroup(ctx, `admission-newcomers-${path}-${name}`);
  if (m.result.connected < k)
    throw new Error(`${path}: only ${m.result.connected} of ${k} newcomers admitted: ${m.result.firstError}`);
  return {
    admitted: m.result.connected,
    queued,
    serverUs: m.serverUs,
    redisCommands,
    admissionQueueCommands: counters.queueCommands() - queueCommandsBefore,
  };
}

function report(ctx: ScenarioContext, path: Path, k: number, results: RoundResult[]): void {
  const admitted = results.map((r) => r.admitted);
  const metric = `cpu_us_per_admit_${path}`;
  ctx.sink.add(
    SCENARIO,
    'tether',
    metric,
    round(
      pooledPerOp(
        results.map((r) => r.serverUs),
        admitted,
      ),
    ),
    'µs',
  );
  noteResolution(ctx, SCENARIO, 'tether', metric, sum(results.map((r) => r.serverUs)));
  const perAdmit = pooledPerOp(
    results.map((r) => r.redisCommands),
    admitted,
  );
  ctx.sink.add(SCENARIO, 'tether', `redis_cmds_per_admit_${path}`, round(perAdmit), 'cmds');
  const queueCommands = sum(results.map((r) => r.admissionQueueCommands));
  ctx.sink.add(SCENARIO, 'tether', `admission_queue_cmds_${path}`, queueCommands, 'cmds');
  const queued = sum(results.map((r) => r.queued));
  if (path === 'direct' && (queued > 0 || queueCommands > 0))
    ctx.sink.note(
      SCENARIO,
      'tether',
      `direct: ${queued} admissions queued, ${queueCommands} admission-queue commands`,
    );
  if (path === 'queued' && queued < sum(admitted))
    ctx.sink.note(
      SCENARIO,
      'tether',
      `queued: only ${queued} of ${sum(admitted)} admissions went through the queue`,
    );
  if (path === 'queued')
    ctx.sink.note(SCENARIO, 'tether', `queued: MAX_CONNECTIONS=${k}, ${k} holders, ${k} waiters per round`);
}

/** Total commands Redis has run (INFO commandstats), minus the INFO that asks. */
async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return sum([...info.matchAll(/calls=(\d+)/g)].map((match) => Number(match[1]))) - 1;
}

function queueDepth(httpUrl: string): Promise<number> {
  return gatewaySample(httpUrl, /^tether_admission_queue_depth (\S+)$/m);
}

function admissionsQueued(httpUrl: string): Promise<number> {
  return gatewaySample(httpUrl, /^tether_admissions_total\{result="queued"\} (\S+)$/m);
}
