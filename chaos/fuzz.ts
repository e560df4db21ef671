/**
 * `npm run fuzz [-- --frames 100000 --connections 8 --seed 1 --max-seconds 300]`:
 * structure-aware fuzzing of one production-mode gateway (chaos/lib/fuzz-frames.ts)
 * from several connections, while a bystander must receive every event of a steady
 * publisher exactly once. Checks that the process survives with bounded memory and no
 * fatal log, that no bad input is answered as a store outage, and that every session
 * the fuzzers left behind can still be resumed. Exits 1 when a promise is broken.
 */
import WebSocket from 'ws';
import { ChaosClient } from './lib/chaos-client.ts';
import { checkClient } from './lib/checker.ts';
import { FrameFuzzer, OBJECT_KEYS } from './lib/fuzz-frames.ts';
import { writeFuzzReport } from './lib/fuzz-report.ts';
import { bump, type FuzzSession, fuzzWorker, newTally } from './lib/fuzz-worker.ts';
import { gatewayEnv, mintToken, newPrefix } from './lib/identity.ts';
import { rssBytes } from './lib/proc-stats.ts';
import { ChaosGateway, ChaosRedis } from './lib/processes.ts';
import { option, progress, sleep, waitUntil } from './lib/progress.ts';
import { Publisher } from './lib/publisher.ts';
import { probeHeld, runSessionProbes } from './lib/session-probes.ts';

const settings = {
  frames: Number(option('frames', 'FUZZ_FRAMES', '100000')),
  connections: Number(option('connections', 'FUZZ_CONNECTIONS', '8')),
  seed: Number(option('seed', 'FUZZ_SEED', String(Date.now() % 1_000_000))),
  maxSeconds: Number(option('max-seconds', 'FUZZ_MAX_SECONDS', '300')),
  /** RSS may grow this much over its value before fuzzing and still count as bounded. */
  rssAllowanceMb: Number(option('rss-allowance-mb', 'FUZZ_RSS_ALLOWANCE_MB', '512')),
};
const BYSTANDER = 'bystander:0';

progress(`fuzz: ${settings.frames} frames over ${settings.connections} connections, seed ${settings.seed}`);
const redis = await ChaosRedis.start(false);
// Per-connection frame rate and error budget off, so frames reach the codec and the handlers
// instead of the rate limiter; every fuzzer comes from 127.0.0.1, so per-IP/user limits are off.
const gateway = await ChaosGateway.create('fuzz-gw', (port) =>
  gatewayEnv(redis.url, port, newPrefix(), {
    MESSAGES_PER_SECOND: '0',
    MAX_ERRORS_PER_MINUTE: '100000000',
    RATE_CONNECT_PER_USER: '0',
    AUTH_FAILURES_PER_IP: '0',
    LOG_LEVEL: 'warn',
  }),
);
const bystander = new ChaosClient('bystander', [gateway.url], await mintToken('bystander'), [BYSTANDER]);
const publisher = new Publisher(() => [gateway.http], [BYSTANDER], 50, 2);
const tally = newTally();
const rss: [number, number][] = [];
let healthy = false;
let poisoned = 0;
const resumeOutcomes = new Map<string, number>();
let startedAt = 0;
let probes = new Map<string, string>();
try {
  await gateway.start();
  bystander.start();
  await waitUntil(() => bystander.subscribed, 20_000);
  publisher.start();
  const pid = gateway.pid!;
  startedAt = Date.now();
  const sampler = setInterval(() => {
    const bytes = rssBytes(pid);
    if (bytes !== undefined) rss.push([(Date.now() - startedAt) / 1000, bytes / 2 ** 20]);
  }, 1000);
  rss.push([0, (rssBytes(pid) ?? 0) / 2 ** 20]);
  // Fuzzers may publish to their own channels and to object-key names, never to the bystander's.
  const token = await mintToken('fuzzer', ['*'], ['fuzz:*', ...OBJECT_KEYS]);
  const deadline = startedAt + settings.maxSeconds * 1000;
  const budget = () => tally.sent < settings.frames && Date.now() < deadline && gateway.alive;
  const ticker = setInterval(() => {
    const rate = tally.sent / ((Date.now() - startedAt) / 1000);
    progress(
      `  ${tally.sent}/${settings.frames} frames (${rate.toFixed(0)}/s), ${tally.connections} connections, RSS ${rss.at(-1)?.[1].toFixed(0)} MB`,
    );
  }, 5000);
  await Promise.all(
    Array.from({ length: settings.connections }, (_, i) =>
      fuzzWorker(
        gateway.url,
        token,
        new FrameFuzzer(settings.seed + i, ['fuzz:a', 'fuzz:b', 'fuzz:c', BYSTANDER]),
        tally,
        budget,
      ),
    ),
  );
  clearInterval(ticker);
  clearInterval(sampler);
  progress(
    `  fuzzing done: ${tally.sent} frames in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; checking`,
  );
  await publisher.stop();
  const last = publisher.lastAcked().get(BYSTANDER);
  await waitUntil(() => last === undefined || bystander.positions.get(BYSTANDER) === last, 15_000);
  // Every session the fuzzers left behind, resumed once: a poisoned one answers INTERNAL or
  // comes back without channels it had.
  const probeUntil = Date.now() + 60_000;
  for (const session of tally.sessions) {
    if (Date.now() > probeUntil) break;
    const outcome = await resumeOnce(gateway.url, token, session);
    bump(resumeOutcomes, outcome);
    if (/INTERNAL|1011|dropped/.test(outcome)) poisoned++;
  }
  probes = await runSessionProbes(gateway.url, gateway.http, await mintToken('prober'));
  probes = await runSessionProbes(gateway.url, gateway.http, await mintToken('prober'));
  healthy = gateway.alive && (await stillServes(gateway.url, gateway.http));
} catch (error) {
  progress(`fuzz run failed: ${(error as Error).message}`);
} finally {
  bystander.stop();
  await publisher.stop();
}
const alive = gateway.alive;
await gateway.stop();
await redis.stop();

const baseline = rss[0]?.[1] ?? 0;
const peak = Math.max(...rss.map(([, mb]) => mb), 0);
const verdict = checkClient(bystander, publisher.acked);
const outages = [...tally.outageAnswers.values()].reduce((a, b) => a + b, 0);
const promises = [
  {
    id: 'survives',
    promise: 'The gateway process survives and still serves a new client',
    held: alive && healthy,
    detail: `alive: ${alive}, serves a fresh hello/subscribe/publish: ${healthy}`,
  },
  {
    id: 'no-fatal',
    promise: 'No uncaught exception or fatal log line',
    held: gateway.fatal.length === 0,
    detail: `${gateway.fatal.length} lines${gateway.fatal[0] ? `, first: ${gateway.fatal[0].slice(0, 200)}` : ''}`,
  },
  {
    id: 'memory-bounded',
    promise: `RSS stays within ${settings.rssAllowanceMb} MB of its value before fuzzing`,
    held: peak - baseline <= settings.rssAllowanceMb,
    detail: `${baseline.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`,
  },
  {
    id: 'bystander-exactly-once',
    promise: 'A bystander receives every acked event exactly once, in order',
    held: verdict.lostSilently + verdict.duplicates + verdict.outOfOrder === 0 && verdict.expected > 0,
    detail: `${verdict.expected} expected, ${verdict.lostSilently} lost, ${verdict.duplicates} duplicated, ${verdict.outOfOrder} out of order`,
  },
  {
    id: 'bad-input-not-outage',
    promise: 'Bad input is never answered as a store outage (STORE_UNAVAILABLE / INTERNAL) while Redis is up',
    held: outages === 0,
    detail: `${outages} answers: ${[...tally.outageAnswers].map(([k, v]) => `${k}×${v}`).join(', ') || '—'}`,
  },
  {
    id: 'sessions-resumable',
    promise: 'Every session the fuzzers left resumes with all its channels (no poisoned session)',
    held: poisoned === 0,
    detail: `${poisoned} of ${[...resumeOutcomes.values()].reduce((a, b) => a + b, 0)} resumes answered INTERNAL or dropped a channel silently`,
  },
  {
    id: 'probes-resumable',
    promise:
      'Sessions on object-key channel names resume and get what they missed; a from past 2^64−1 is refused where it enters and its session resumes too',
    held: probes.size > 0 && [...probes.values()].every(probeHeld),
    detail:
      [...probes]
        .filter(([, o]) => !probeHeld(o))
        .map(([k, o]) => `${k}: ${o}`)
        .join('; ') || `${probes.size} probes`,
  },
  {
    id: 'volume',
    promise: `At least ${settings.frames} frames sent`,
    held: tally.sent >= settings.frames,
    detail: `${tally.sent} frames`,
  },
];
const files = writeFuzzReport({
  settings,
  tally,
  promises,
  rss,
  resumeOutcomes,
  probes,
  durationS: (Date.now() - startedAt) / 1000,
});
for (const p of promises) progress(`  ${p.held ? 'held  ' : 'BROKEN'} ${p.id}: ${p.detail}`);
for (const file of files) progress(`wrote ${file}`);
await sleep(0);
process.exit(promises.every((p) => p.held) ? 0 : 1);

/** Resume `session` once; what the gateway answered, e.g. "resumed", "RESUME_EXPIRED", "INTERNAL → 1011". */
async function resumeOnce(url: string, token: string, session: FuzzSession): Promise<string> {
  const ws = new WebSocket(url);
  const codes: string[] = [];
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve(codes.length ? codes.join(',') : 'no answer'), 5000);
    const resume = { sessionId: session.sessionId, resumeToken: session.resumeToken, lastEventIds: {} };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token, resume })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.type === 'error') codes.push(String(frame.code));
      if (frame.type === 'welcome') {
        clearTimeout(timer);
        const listed = new Set((frame.channels as { channel: string }[]).map((c) => c.channel));
        const dropped = frame.resumed ? (session.channels ?? []).filter((c) => !listed.has(c)) : [];
        const how = frame.resumed
          ? `resumed${dropped.length ? `, dropped ${dropped.sort().join(' ')}` : ''}`
          : 'new session';
        resolve([...codes, how].join(' + '));
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(`${codes.join(',') || 'no error frame'} → close ${code}`);
    });
    ws.on('error', () => {});
  });
  ws.terminate();
  return outcome;
}

/** A fresh client can still hello, subscribe and receive what a backend publishes. */
async function stillServes(url: string, http: string): Promise<boolean> {
  const probe = new ChaosClient('probe', [url], await mintToken('probe'), ['probe:0']);
  probe.start();
  try {
    if (!(await waitUntil(() => probe.subscribed, 10_000))) return false;
    const check = new Publisher(() => [http], ['probe:0'], 10, 1);
    check.start();
    await sleep(500);
    await check.stop();
    return await waitUntil(
      () => (probe.deliveries.get('probe:0')?.length ?? 0) >= check.acked.length && check.acked.length > 0,
      5000,
    );
  } finally {
    probe.stop();
  }
}
