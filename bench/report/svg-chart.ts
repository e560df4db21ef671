/**
 * A small horizontal bar chart as standalone SVG, no dependencies: one panel per
 * metric (each with its own scale, since units differ), one bar per system, the
 * value printed at the end of the bar. Tether's bars stand out; uws-raw, the
 * limit, is darker than the other peers.
 */
import { formatNumber } from './format.ts';

export interface ChartPanel {
  title: string;
  bars: { label: string; value: number }[];
}

const WIDTH = 640;
const LABEL_W = 80;
const VALUE_W = 90;
const BAR_H = 18;
const GAP = 5;
const PANEL_HEAD = 26;
const PANEL_GAP = 12;
const TITLE_H = 30;
const COLORS: Record<string, string> = { tether: '#2b6cb0', 'uws-raw': '#4a5568' };
const OTHER = '#a0aec0';

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function barChart(title: string, panels: readonly ChartPanel[]): string {
  const parts: string[] = [
    `<text x="10" y="20" font-size="15" font-weight="bold">${xmlEscape(title)}</text>`,
  ];
  let y = TITLE_H;
  const barArea = WIDTH - LABEL_W - VALUE_W - 10;
  for (const panel of panels) {
    parts.push(`<text x="10" y="${y + 17}" font-size="12" fill="#2d3748">${xmlEscape(panel.title)}</text>`);
    y += PANEL_HEAD;
    const max = Math.max(0, ...panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    for (const bar of panel.bars) {
      const ok = Number.isFinite(bar.value);
      const width = ok && max > 0 ? Math.max(1, (Math.max(0, bar.value) / max) * barArea) : 0;
      const mid = y + BAR_H / 2 + 4;
      parts.push(
        `<text x="${LABEL_W}" y="${mid}" font-size="12" text-anchor="end">${xmlEscape(bar.label)}</text>`,
        `<rect x="${LABEL_W + 6}" y="${y}" width="${width.toFixed(1)}" height="${BAR_H}" fill="${COLORS[bar.label] ?? OTHER}"/>`,
        `<text x="${LABEL_W + 12 + width}" y="${mid}" font-size="12">${ok ? formatNumber(bar.value) : 'n/a'}</text>`,
      );
      y += BAR_H + GAP;
    }
    y += PANEL_GAP;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
