/**
 * Just enough of the Prometheus text exposition format (version 0.0.4) to read
 * the gateway's own `/metrics` in a browser: samples with labels; comments,
 * HELP/TYPE lines and timestamps are skipped.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** name, optional {labels}, value, optional timestamp — and nothing else on the line. */
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?[ \t]*\r?$/;
const FLOAT = /^(?:[+-]?Inf|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match || !FLOAT.test(match[3] as string)) continue; // not a sample line: skip, never a NaN
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1] as string, labels, value: sampleValue(match[3] as string) });
  }
  return samples;
}

/** Go floats as the format writes them: `Number('+Inf')` would be NaN. */
function sampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Sum of a metric's samples whose labels include `where`. undefined when the metric is absent. */
export function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
