/** Numbers as the report prints them: 3 significant digits, thousands separated, "—" for none. */
import { round } from '../lib/stats.ts';

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return round(value, 3).toLocaleString('en-US', { maximumFractionDigits: 6 });
}
