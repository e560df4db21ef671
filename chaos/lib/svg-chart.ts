/**
 * Two small hand-drawn SVG charts for the reports (no chart library for a few bars
 * and lines): grouped horizontal bars, and lines over time.
 */
const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const COLOURS = ['#4c78a8', '#e45756', '#f58518', '#54a24b', '#b279a2'];

export interface BarGroup {
  label: string;
  values: number[];
}

/** One row per group, one bar per series, scaled per series to its own maximum. */
export function barChart(title: string, series: string[], groups: BarGroup[]): string {
  const rowHeight = 12 * series.length + 10;
  const width = 760;
  const left = 230;
  const height = 50 + groups.length * rowHeight + 20;
  const top = series.map((_, s) => Math.max(0, ...groups.map((g) => g.values[s] ?? 0)));
  const max = top.map((t) => Math.max(1, t)); // the scale; a series of zeros draws no bars
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...series.map(
      (name, s) =>
        `<rect x="${10 + s * 190}" y="28" width="10" height="10" fill="${COLOURS[s % COLOURS.length]}"/><text x="${24 + s * 190}" y="37">${esc(name)} (max ${top[s]})</text>`,
    ),
  ];
  groups.forEach((group, g) => {
    const y = 50 + g * rowHeight;
    parts.push(`<text x="${left - 6}" y="${y + rowHeight / 2}" text-anchor="end">${esc(group.label)}</text>`);
    group.values.forEach((value, s) => {
      const w = ((width - left - 60) * value) / max[s]!;
      const barY = y + s * 12;
      parts.push(
        `<rect x="${left}" y="${barY}" width="${Math.max(value > 0 ? 1 : 0, w).toFixed(1)}" height="10" fill="${COLOURS[s % COLOURS.length]}"/>`,
        `<text x="${left + w + 4}" y="${barY + 9}">${value}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface Line {
  name: string;
  points: [number, number][];
}

/** Lines over a shared x axis (e.g. minutes), each scaled to its own range, labelled with min/max. */
export function lineChart(title: string, xLabel: string, lines: Line[]): string {
  const width = 760;
  const plotHeight = 90;
  const height = 40 + lines.length * (plotHeight + 30);
  const xs = lines.flatMap((l) => l.points.map(([x]) => x));
  const x0 = Math.min(...xs, 0);
  const x1 = Math.max(...xs, 1);
  const sx = (x: number) => 60 + ((width - 80) * (x - x0)) / (x1 - x0 || 1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  lines.forEach((line, i) => {
    const top = 35 + i * (plotHeight + 30);
    const ys = line.points.map(([, y]) => y);
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const sy = (y: number) => top + plotHeight - (plotHeight * (y - lo)) / (hi - lo || 1);
    const path = line.points.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    parts.push(
      `<text x="60" y="${top - 3}">${esc(line.name)}: ${fmt(lo)} – ${fmt(hi)}</text>`,
      `<rect x="60" y="${top}" width="${width - 80}" height="${plotHeight}" fill="none" stroke="#ccc"/>`,
      `<path d="${path.join('')}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`,
      `<text x="${width - 20}" y="${top + plotHeight + 12}" text-anchor="end">${esc(xLabel)} ${fmt(x1)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
