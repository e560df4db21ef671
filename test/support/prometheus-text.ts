/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough for
 * tests to assert on `/metrics`: every line must be a comment, a HELP/TYPE line or
 * a sample, or parsing throws with the offending line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family name → counter | gauge | histogram | summary | untyped. */
  types: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = TYPE.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (HELP.test(line) || (line.startsWith('#') && !line.startsWith('# TYPE') && !line.startsWith('# HELP')))
      continue;
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const value = numberOf(sample[3] as string);
    if (value === undefined) throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: sample[1] as string, labels: parseLabels(sample[2] ?? '', line), value });
  }
  return { samples, types };
}

/** Values are Go floats: NaN and ±Inf in any letter case (prom-client writes `Nan`). */
function numberOf(text: string): number | undefined {
  const special = text.toLowerCase();
  if (special === 'nan') return Number.NaN;
  if (special === '+inf' || special === 'inf') return Number.POSITIVE_INFINITY;
  if (special === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) || text.trim() === '' ? undefined : value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const label = LABEL.exec(rest);
    if (!label) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === 'n' ? '\n' : c,
    );
    rest = rest.slice(label[0].length);
  }
  return labels;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
