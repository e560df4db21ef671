/**
 * The demo's "Diagnose" dialog: `client.diagnose()`'s report as a person reads it —
 * each check with a tick or a cross and what it found, then what to do.
 */
import type { DiagnosticReport } from '../../../packages/client/src/index.ts';

const LABELS: Record<keyof DiagnosticReport['checks'], string> = {
  health: 'Gateway ready (/readyz)',
  upgrade: 'WebSocket upgrade',
  sse: 'SSE stream (fallback)',
  auth: 'Token accepted',
  admission: 'Admitted',
  latency: 'Round trip',
  clockSkew: 'Clock',
};

export function renderReport(container: HTMLElement, report: DiagnosticReport): void {
  container.replaceChildren();
  const summary = document.createElement('p');
  summary.className = 'summary';
  summary.dataset.ok = String(report.ok);
  summary.textContent = report.ok
    ? `Everything checks out (${new Date(report.at).toLocaleTimeString()}).`
    : 'Something is wrong — see the crosses and what to do below.';
  const table = document.createElement('table');
  for (const [key, label] of Object.entries(LABELS) as [keyof DiagnosticReport['checks'], string][]) {
    const check = report.checks[key];
    if (!check) continue; // the SSE stream: only when the probe went that way
    const tr = document.createElement('tr');
    tr.dataset.check = key;
    tr.dataset.ok = String(check.ok);
    for (const text of [check.ok ? '✓' : '✗', label, check.detail]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    table.append(tr);
  }
  container.append(summary, table);
  if (report.suggestions.length > 0) {
    const heading = document.createElement('h3');
    heading.textContent = 'What to do';
    const list = document.createElement('ul');
    list.className = 'suggestions';
    for (const suggestion of report.suggestions) {
      const li = document.createElement('li');
      li.textContent = suggestion;
      list.append(li);
    }
    container.append(heading, list);
  }
}
