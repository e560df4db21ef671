/**
 * The checker, in the Jepsen spirit: from what the publisher was acknowledged and what
 * each client was sent (raw), decide per client whether every acked event arrived
 * exactly once and in order — or, when it did not arrive, whether the client was told
 * (`recovered: false` in `welcome`/`subscribed` covering it).
 */
import { compareEventIds } from '../../src/shared/identifiers.ts';
import type { ChaosClient, GapReport } from './chaos-client.ts';
import type { AckedEvent } from './publisher.ts';

export interface ClientVerdict {
  client: string;
  /** Acked events this client should have received (after its starting position). */
  expected: number;
  delivered: number;
  /** Acked, never arrived, and no `recovered: false` covered it: a silent gap. */
  lostSilently: number;
  /** Acked, never arrived, but the client was told (`recovered: false`). */
  lostReported: number;
  duplicates: number;
  outOfOrder: number;
  gapReports: number;
  /** Gap reports that covered no missing acked event (needless, but not a broken promise). */
  needlessReports: number;
  /** Some channel never got a subscription at all. */
  neverSubscribed: boolean;
  /** Example IDs lost silently, for the report. */
  examples: string[];
}

/** Does `report` tell the client about the loss of `event`? */
function covers(report: GapReport, event: AckedEvent): boolean {
  if (report.channel !== event.channel || compareEventIds(event.id, report.position) <= 0) return false;
  // Within (position, after], or acked before the report came (the lost log may have held it).
  return compareEventIds(event.id, report.after) <= 0 || event.at <= report.at;
}

export function checkClient(client: ChaosClient, acked: AckedEvent[]): ClientVerdict {
  const verdict: ClientVerdict = {
    client: client.name,
    expected: 0,
    delivered: 0,
    lostSilently: 0,
    lostReported: 0,
    duplicates: 0,
    outOfOrder: 0,
    gapReports: client.reports.length,
    needlessReports: 0,
    neverSubscribed: false,
    examples: [],
  };
  const usefulReports = new Set<GapReport>();
  for (const channel of client.channels) {
    const start = client.initial.get(channel);
    if (start === undefined) verdict.neverSubscribed = true;
    const seen = new Map<string, number>();
    let newest: string | undefined;
    for (const { id } of client.deliveries.get(channel) ?? []) {
      verdict.delivered++;
      const times = seen.get(id) ?? 0;
      seen.set(id, times + 1);
      if (times > 0) verdict.duplicates++;
      else if (newest !== undefined && compareEventIds(id, newest) < 0) verdict.outOfOrder++;
      if (newest === undefined || compareEventIds(id, newest) > 0) newest = id;
    }
    const reports = client.reports.filter((r) => r.channel === channel);
    for (const event of acked) {
      if (event.channel !== channel) continue;
      if (start !== undefined && compareEventIds(event.id, start) <= 0) continue;
      verdict.expected++;
      if (seen.has(event.id)) continue;
      const told = reports.find((r) => covers(r, event));
      if (told) {
        usefulReports.add(told);
        verdict.lostReported++;
      } else {
        verdict.lostSilently++;
        if (verdict.examples.length < 3) verdict.examples.push(`${channel} ${event.id} (n=${event.n})`);
      }
    }
  }
  verdict.needlessReports = client.reports.filter((r) => !usefulReports.has(r)).length;
  return verdict;
}

export interface PromiseVerdict {
  id: string;
  promise: string;
  held: boolean;
  detail: string;
}

export interface Totals {
  clients: number;
  expected: number;
  delivered: number;
  lostSilently: number;
  lostReported: number;
  duplicates: number;
  outOfOrder: number;
  gapReports: number;
  needlessReports: number;
  clientsWithSilentLoss: number;
}

export function totals(verdicts: ClientVerdict[]): Totals {
  const sum = (pick: (v: ClientVerdict) => number) => verdicts.reduce((s, v) => s + pick(v), 0);
  return {
    clients: verdicts.length,
    expected: sum((v) => v.expected),
    delivered: sum((v) => v.delivered),
    lostSilently: sum((v) => v.lostSilently),
    lostReported: sum((v) => v.lostReported),
    duplicates: sum((v) => v.duplicates),
    outOfOrder: sum((v) => v.outOfOrder),
    gapReports: sum((v) => v.gapReports),
    needlessReports: sum((v) => v.needlessReports),
    clientsWithSilentLoss: verdicts.filter((v) => v.lostSilently > 0).length,
  };
}

/** The promises of docs/protocol.md §5 and §7, judged over one scenario. */
export function judge(
  t: Totals,
  converged: { caughtUp: number; clients: number; waitedMs: number },
  survivors: { expected: number; alive: number },
): PromiseVerdict[] {
  return [
    {
      id: 'no-silent-loss',
      promise: 'Every acked event reaches every subscriber, or the subscriber is told (recovered: false)',
      held: t.lostSilently === 0,
      detail: `${t.lostSilently} acked deliveries lost silently across ${t.clientsWithSilentLoss} clients; ${t.lostReported} lost and reported`,
    },
    {
      id: 'exactly-once',
      promise: 'No event is delivered twice to a subscriber that reports its position',
      held: t.duplicates === 0,
      detail: `${t.duplicates} duplicate deliveries`,
    },
    {
      id: 'in-order',
      promise: 'Events arrive in ID order on each channel',
      held: t.outOfOrder === 0,
      detail: `${t.outOfOrder} deliveries below an ID already delivered`,
    },
    {
      id: 'caught-up',
      promise: 'After the fault heals, every client is back and has the newest acked event',
      held: converged.caughtUp === converged.clients,
      detail: `${converged.caughtUp}/${converged.clients} caught up within ${(converged.waitedMs / 1000).toFixed(1)} s`,
    },
    {
      id: 'process-survives',
      promise: 'Gateway processes the scenario did not kill are still running',
      held: survivors.alive === survivors.expected,
      detail: `${survivors.alive}/${survivors.expected} alive`,
    },
  ];
}
