/**
 * One sample of a Tether gateway's `/metrics`, by a pattern whose first group is the
 * value: the scenarios read a gauge or a counter at a moment of their own (admission:
 * queue depth, admissions queued; storm: the longest event-loop stall). 0 when the
 * gateway does not answer or has no such sample.
 */
export async function gatewaySample(httpUrl: string, pattern: RegExp): Promise<number> {
  const res = await fetch(`${httpUrl}/metrics`);
  const text = res.ok ? await res.text() : '';
  return Number(pattern.exec(text)?.[1] ?? 0);
}
