/**
 * Relay load from one generator: an open loop (a fixed offered rate, whatever the
 * system manages) and a closed loop (each client keeps a few messages in flight:
 * the system's saturation throughput).
 */
import { sleep } from '../lib/timing.ts';
import type { ClientGroup } from './client-group.ts';
import { makePayload, payloadAgeMs } from './clients/payload.ts';
import type { RelayClosedCommand, RelayClosedReply, RelayOpenCommand, RelayOpenReply } from './commands.ts';

/** Keep at most this many latency samples (a uniform prefix is enough for p99). */
const MAX_SAMPLES = 400_000;
const TICK_MS = 1;

export async function relayOpenLoop(group: ClientGroup, command: RelayOpenCommand): Promise<RelayOpenReply> {
  const clients = group.openClients().map(([, c]) => c);
  if (clients.length === 0) throw new Error('relay-open: no open clients');
  const latencies: number[] = [];
  let received = 0;
  group.onRelay = (_index, payload) => {
    received++;
    if (command.recordLatency && latencies.length < MAX_SAMPLES) latencies.push(payloadAgeMs(payload));
  };
  const started = performance.now();
  const total = Math.round((command.ratePerS * command.durationMs) / 1000);
  // Never more than 50 ms of load in one burst, so a late timer does not flood.
  const maxBurst = Math.max(1, Math.ceil(command.ratePerS / 20));
  let sent = 0;
  let turn = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor((command.ratePerS * (performance.now() - started)) / 1000));
      for (let burst = 0; sent < due && burst < maxBurst; burst++, sent++) {
        const client = clients[turn++ % clients.length];
        if (client?.isOpen) client.relay(makePayload());
      }
      if (performance.now() - started > command.durationMs * 2) break; // cannot keep up: stop offering
      await sleep(TICK_MS);
    }
    const graceEnd = performance.now() + command.graceMs;
    while (received < sent && performance.now() < graceEnd) await sleep(5);
  } finally {
    group.onRelay = undefined;
  }
  return { sent, received, latenciesMs: latencies, elapsedMs: performance.now() - started };
}

export async function relayClosedLoop(
  group: ClientGroup,
  command: RelayClosedCommand,
): Promise<RelayClosedReply> {
  const clients = group.openClients();
  if (clients.length === 0) throw new Error('relay-closed: no open clients');
  const byIndex = new Map(clients);
  const started = performance.now();
  const deadline = started + command.durationMs;
  let received = 0;
  let outstanding = 0;
  group.onRelay = (index) => {
    outstanding--;
    const now = performance.now();
    if (now >= deadline) return;
    received++;
    const client = byIndex.get(index);
    if (client?.isOpen) {
      client.relay(makePayload(now));
      outstanding++;
    }
  };
  try {
    for (const [, client] of clients) {
      for (let i = 0; i < command.inFlight; i++) client.relay(makePayload());
      outstanding += command.inFlight;
    }
    await sleep(command.durationMs);
    // Let what is still in flight come back, so the next measurement starts clean.
    const graceEnd = performance.now() + command.graceMs;
    while (outstanding > 0 && performance.now() < graceEnd) await sleep(5);
  } finally {
    group.onRelay = undefined;
  }
  return { received, durationMs: command.durationMs };
}
