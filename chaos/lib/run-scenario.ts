/**
 * One scenario from start to verdict: fresh Redis and gateways, clients subscribed,
 * the publisher running, the fault, a bounded wait for everyone to catch up, the check,
 * and everything stopped again (also when something failed on the way).
 */
import { compareEventIds } from '../../src/shared/identifiers.ts';
import type { FaultContext, Scenario } from '../scenarios.ts';
import { ChaosClient } from './chaos-client.ts';
import {
  type ClientVerdict,
  checkClient,
  judge,
  type PromiseVerdict,
  type Totals,
  totals,
} from './checker.ts';
import { gatewayEnv, mintToken, newPrefix } from './identity.ts';
import { ChaosGateway, ChaosRedis } from './processes.ts';
import { progress, sleep, waitUntil } from './progress.ts';
import { Publisher } from './publisher.ts';

export interface RunSettings {
  clients: number;
  channels: number;
  publishPerSecond: number;
  /** Longest wait for every client to catch up after the fault. */
  settleMs: number;
}

export interface ScenarioResult {
  name: string;
  title: string;
  knownIssue?: string;
  ok: boolean;
  promises: PromiseVerdict[];
  totals: Totals;
  publisher: { acked: number; refused: number; unknown: number; statuses: Record<string, number> };
  clients: {
    connects: number;
    resumes: number;
    errorCodes: Record<string, number>;
    closeCodes: Record<string, number>;
  };
  worstClients: ClientVerdict[];
  gatewayProblems: string[];
  gatewayErrorLogs: number;
  durationMs: number;
  error?: string;
}

const add = <K>(into: Map<K, number>, from: Map<K, number>) => {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
};

export async function runScenario(scenario: Scenario, settings: RunSettings): Promise<ScenarioResult> {
  const began = Date.now();
  const prefix = newPrefix();
  const channels = Array.from({ length: settings.channels }, (_, i) => `chaos:${scenario.name}:${i}`);
  const redis = await ChaosRedis.start(scenario.appendOnly);
  const gateways: ChaosGateway[] = [];
  const clients: ChaosClient[] = [];
  const publisher = new Publisher(
    () => gateways.filter((g) => g.alive).map((g) => g.http),
    channels,
    settings.publishPerSecond,
  );
  const ctx: FaultContext = { redis, gateways, clients, killedForGood: new Set() };
  let error: string | undefined;
  let converged = { caughtUp: 0, clients: settings.clients, waitedMs: 0 };
  try {
    for (let g = 0; g < scenario.gateways; g++) {
      gateways.push(
        await ChaosGateway.create(`${scenario.name}-gw${g}`, (port) => gatewayEnv(redis.url, port, prefix)),
      );
    }
    await Promise.all(gateways.map((g) => g.start()));
    progress(`  ${gateways.length} gateway(s) up; connecting ${settings.clients} clients`);
    const urls = gateways.map((g) => g.url);
    for (let i = 0; i < settings.clients; i++) {
      const mine = [channels[i % channels.length]!, channels[(i + 1) % channels.length]!];
      const client = new ChaosClient(`c${i}`, urls, await mintToken(`chaos-${i}`, ['chaos:*']), mine, i);
      clients.push(client);
      client.start();
    }
    if (!(await waitUntil(() => clients.every((c) => c.subscribed), 30_000))) {
      throw new Error(`only ${clients.filter((c) => c.subscribed).length} clients subscribed within 30 s`);
    }
    publisher.start();
    await sleep(3000);
    progress(`  fault: ${scenario.title}`);
    await scenario.fault(ctx);
    await sleep(4000);
    await publisher.stop();
    const last = publisher.lastAcked();
    const caughtUp = (c: ChaosClient) =>
      c.connected &&
      c.channels.every((ch) => {
        const target = last.get(ch);
        const at = c.positions.get(ch);
        return target === undefined || (at !== undefined && compareEventIds(at, target) >= 0);
      });
    progress(`  publisher stopped (${publisher.acked.length} acked); waiting for clients to catch up`);
    const settleStart = Date.now();
    await waitUntil(() => clients.every(caughtUp), settings.settleMs, 200);
    converged = {
      caughtUp: clients.filter(caughtUp).length,
      clients: clients.length,
      waitedMs: Date.now() - settleStart,
    };
  } catch (failure) {
    error = (failure as Error).message;
    progress(`  scenario error: ${error}`);
  } finally {
    await publisher.stop();
    for (const client of clients) client.stop();
  }
  const alive = gateways.filter((g) => !ctx.killedForGood.has(g));
  const survivors = { expected: alive.length, alive: alive.filter((g) => g.alive).length };
  await Promise.all(gateways.map((g) => g.stop()));
  await redis.stop();

  const verdicts = clients.map((c) => checkClient(c, publisher.acked));
  const sum = totals(verdicts);
  const promises = judge(sum, converged, survivors);
  if (error) promises.push({ id: 'ran', promise: 'The scenario ran to the end', held: false, detail: error });
  const errorCodes = new Map<string, number>();
  const closeCodes = new Map<number, number>();
  for (const c of clients) {
    add(errorCodes, c.errorCodes);
    add(closeCodes, c.closeCodes);
  }
  return {
    name: scenario.name,
    title: scenario.title,
    knownIssue: scenario.knownIssue,
    ok: promises.every((p) => p.held),
    promises,
    totals: sum,
    publisher: {
      acked: publisher.acked.length,
      refused: publisher.refused,
      unknown: publisher.unknown,
      statuses: Object.fromEntries(publisher.statuses),
    },
    clients: {
      connects: clients.reduce((s, c) => s + c.connects, 0),
      resumes: clients.reduce((s, c) => s + c.resumes, 0),
      errorCodes: Object.fromEntries(errorCodes),
      closeCodes: Object.fromEntries(closeCodes),
    },
    worstClients: verdicts
      .filter((v) => v.lostSilently + v.duplicates + v.outOfOrder > 0 || v.neverSubscribed)
      .sort((a, b) => b.lostSilently - a.lostSilently || b.duplicates - a.duplicates)
      .slice(0, 8),
    gatewayProblems: gateways
      .flatMap((g) => [...g.fatal, ...g.problems].map((p) => `${g.name}: ${p}`))
      .slice(0, 10),
    gatewayErrorLogs: gateways.reduce((s, g) => s + g.errorLogs, 0),
    durationMs: Date.now() - began,
    error,
  };
}
