/**
 * bench/results/latest.md: the targets first (met / missed, in words), then one
 * section per scenario — what it measures, its chart, a table with systems as
 * columns and each figure's ratio to uws-raw (the limit) and to uws-durable (the
 * durable floor), Tether's to each peer — then the machine and settings.
 * Everything here comes from the RunRecord.
 */
import { SYSTEM_NAMES } from '../lib/options.ts';
import type { Result, RunRecord } from '../lib/results.ts';
import { formatNumber } from './format.ts';
import { direction, SCENARIOS } from './scenario-info.ts';
import type { TargetVerdict } from './targets.ts';

const GiB = 1024 ** 3;
const PEERS = ['socketio-redis-streams', 'socketio', 'ws'] as const;
/** Yardsticks every later system's figure is divided by, with the label its ratio carries. */
const YARDSTICKS = [
  ['uws-raw', 'raw'],
  ['uws-durable', 'floor'],
] as const;

export interface ReportLinks {
  /** There is a profiled report (bench/results/profiled/latest.md) to point at. */
  profiledReport?: boolean;
}

export function renderMarkdown(
  record: RunRecord,
  verdicts: readonly TargetVerdict[],
  charts: ReadonlyMap<string, string>,
  links: ReportLinks = {},
): string {
  const { run } = record;
  const readme = run.profiled ? '../../README.md' : '../README.md';
  const lines = [
    '# Tether benchmarks',
    '',
    `${run.mode === 'quick' ? '**Quick run** (reduced sizes and durations: indicative figures only)' : '**Full run**'}, ${run.startedAt}, ${Math.round(run.durationS)} s. ` +
      `Scenarios: ${run.scenarios.length > 0 ? run.scenarios.join(', ') : 'all'}. Systems: ${run.systems.join(', ')}.` +
      (run.profiled
        ? ' Tether ran under the CPU profiler (`--cpu-prof`, see "Where the time goes"), which costs it real CPU: compare its figures with an unprofiled run (`../latest.md`), not with the targets.'
        : ''),
    '',
    machineLine(record),
    '',
    `How these figures are made and how to read them: [bench/README.md](${readme}). All figures: [latest.json](latest.json).` +
      (links.profiledReport
        ? ' Where Tether’s time goes, from a profiled run (`npm run bench -- --cpu-prof`): [profiled/latest.md](profiled/latest.md).'
        : ''),
    '',
    '## Targets',
    '',
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${verdictText(v)} |`),
    '',
  ];
  for (const info of SCENARIOS) {
    const rows = record.results.filter((r) => r.scenario === info.name);
    const notes = record.notes.filter((n) => n.scenario === info.name);
    if (rows.length === 0 && notes.length === 0) continue;
    lines.push(`## ${info.name}`, '', info.measures, '');
    const chart = charts.get(info.name);
    if (chart) lines.push(`![${info.name}](${chart})`, '');
    if (rows.length > 0) lines.push(...table(rows), '');
    for (const v of verdicts.filter((t) => t.scenario === info.name))
      lines.push(`Target — ${v.target}: ${verdictText(v)} (${v.measured}).`, '');
    if (notes.length > 0) lines.push('Notes:', '', ...notes.map((n) => `- ${n.system}: ${n.text}`), '');
  }
  lines.push(...whereTheTimeGoes(record));
  lines.push(...settings(record));
  return `${lines.join('\n')}\n`;
}

function verdictText(v: TargetVerdict): string {
  return v.status === 'not measured' ? 'not measured' : `**${v.status}**`;
}

function machineLine({ machine: m }: RunRecord): string {
  return (
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memTotalBytes / GiB).toFixed(1)} GiB, ${m.os} (Linux ${m.kernel}), ` +
    `Node ${m.node}; load average at start ${m.loadAverageAtStart.join(' / ')}; commit ${m.commit}.`
  );
}

/**
 * Systems as columns, one row per metric; after each value its ratio to the
 * yardsticks that come before it in SYSTEM_NAMES ("N× raw", "N× floor"), and
 * Tether ÷ each peer at the end.
 */
function table(rows: readonly Result[]): string[] {
  const systems = SYSTEM_NAMES.filter((s) => rows.some((r) => r.system === s));
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const value = (system: string, metric: string) =>
    rows.find((r) => r.system === system && r.metric === metric)?.value;
  const peers = systems.includes('tether') ? PEERS.filter((p) => systems.includes(p)) : [];
  const head = ['metric', 'unit', ...systems, ...peers.map((p) => `tether ÷ ${p}`)];
  const out = [
    `| ${head.join(' | ')} |`,
    `| --- | --- | ${head
      .slice(2)
      .map(() => '---:')
      .join(' | ')} |`,
  ];
  const rank = (system: string) => (SYSTEM_NAMES as readonly string[]).indexOf(system);
  for (const metric of metrics) {
    const unit = rows.find((r) => r.metric === metric)?.unit ?? '';
    // Ratios only for scores: a ratio of two offered loads or two CPU shares says nothing.
    const arrow = direction(metric);
    const ratio = (a: number | undefined, b: number | undefined) =>
      arrow && a !== undefined && b && Number.isFinite(a / b) ? `${formatNumber(a / b)}×` : '';
    const cells = systems.map((system) => {
      const v = value(system, metric);
      if (v === undefined) return '—';
      const toYardsticks = YARDSTICKS.filter(([y]) => rank(y) < rank(system))
        .map(([y, label]) => {
          const r = ratio(v, value(y, metric));
          return r ? `${r} ${label}` : '';
        })
        .filter(Boolean);
      return formatNumber(v) + (toYardsticks.length > 0 ? ` (${toYardsticks.join(', ')})` : '');
    });
    const ratios = peers.map((p) => ratio(value('tether', metric), value(p, metric)) || '—');
    out.push(`| ${metric}${arrow ? ` ${arrow}` : ''} | ${unit} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  out.push(
    '',
    '↓ lower is better, ↑ higher is better; "N× raw" = that system ÷ uws-raw, "N× floor" = that system ÷ uws-durable (the durable floor), measured in the same run.',
  );
  return out;
}

/** With `--cpu-prof`: the gateway's busy time by area and by function, per scenario group. */
function whereTheTimeGoes({ profiles }: RunRecord): string[] {
  if (!profiles || profiles.length === 0) return [];
  const out = [
    '## Where the time goes',
    '',
    'V8 CPU profiles of the Tether gateway (`--cpu-prof`), per scenario group: shares of its busy time',
    '(idle and start-up left out). A native call is billed to the JS function that made it: `uWS` is',
    'uWebSockets.js sending (system calls included), `socket writes` are Node’s (ioredis). Profiles:',
    '`bench/results/profiles/<group>/` (open them in Chrome DevTools or speedscope).',
    '',
  ];
  for (const p of profiles) {
    out.push(
      `### ${p.group} (${formatNumber(p.busyMs)} ms busy, ${p.files} profile${p.files === 1 ? '' : 's'})`,
      '',
    );
    out.push('| area | % | function | % |', '| --- | ---: | --- | ---: |');
    for (let i = 0; i < Math.max(p.areas.length, p.functions.length); i++) {
      const a = p.areas[i];
      const f = p.functions[i];
      out.push(`| ${a?.name ?? ''} | ${a ? a.pct : ''} | ${f ? `\`${f.name}\`` : ''} | ${f ? f.pct : ''} |`);
    }
    out.push('');
  }
  return out;
}

function settings(record: RunRecord): string[] {
  const { run, machine } = record;
  const tether = Object.entries(run.tetherSettings).map(([k, v]) => `\`${k}=${v}\``);
  return [
    '## Settings',
    '',
    '- **uws-raw**: bare uWebSockets.js — echo and native topic publish, nothing else: the limit.',
    '- **uws-durable**: the durable floor — bare uWebSockets.js + ioredis (auto-pipelining), per publish Tether’s XADD + PUBLISH script and an ack, events out by `app.publish` from one subscriber connection; no auth, no validation beyond `JSON.parse`, acks not corked. Its own redis-server, reported apart like Tether’s.',
    '- **tether**: the full gateway as `npm start` runs it (`dist/src/main.js`, built by tsc at the start of the run; production mode) with its own redis-server; Redis CPU and memory are reported apart (`redis_…`, `…_with_redis`).',
    `  Changed from defaults for the bench: ${tether.join(', ')} (per-IP/user limits off: the generators share a few source addresses; admission by event-loop lag relaxed: neighbours on a shared box stall processes).`,
    '- **socketio-redis-streams**: Socket.IO 4.8 with `@socket.io/redis-streams-adapter` and connection state recovery (the durable peer); the relay is a broadcast to the sender’s own room, so it goes through the stream. Its own redis-server, reported apart.',
    '- **socketio**: Socket.IO 4.8 with connection state recovery, in memory, WebSocket transport only.',
    '- **ws**: a plain `ws` server (publish loops over the channel’s sockets).',
    `- Load: ${run.generators} generator processes (their CPU is reported as \`generator_…\`); server CPU from /proc/<pid>/stat at ${machine.clockTicksPerS} ticks/s, memory from /proc/<pid>/status.`,
    `- Open files limit ${machine.openFilesLimit}. Versions: ${Object.entries(machine.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}, V8 ${machine.v8}.`,
    '',
  ];
}
