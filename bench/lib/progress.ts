/**
 * Progress on stderr while the bench runs: which scenario, system and step, and
 * how long since the start — so a long run is visibly alive and a stall is visible.
 */
const startedAt = Date.now();

export function progress(scenario: string, system: string, step: string): void {
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${elapsed}s] ${scenario} › ${system} › ${step}\n`);
}

export function elapsedSeconds(): number {
  return (Date.now() - startedAt) / 1000;
}
