import { describe, expect, it } from 'vitest';
import { BullAdmissionLine } from '../../src/admission/admission-line.ts';
import type { AdmissionQueue } from '../../src/admission/admission-queue.ts';
import type { Connection } from '../../src/core/connection.ts';
import type { Logger } from '../../src/observability/logger.ts';

/** A logger that keeps its warn lines. */
function warnings() {
  const lines: { obj: object; msg: string }[] = [];
  const logger = { warn: (obj: object, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
  return { lines, logger };
}

function line(connections: Connection[], logger: Logger) {
  return new BullAdmissionLine({
    queue: {} as AdmissionQueue, // shedding never touches the queue
    connectionOf: () => undefined,
    connections: () => connections,
    freeSlots: () => 0,
    shedBatchRatio: 0.5,
    logger,
  });
}

describe('shedding, as the log tells it', () => {
  it('an idle process under critical pressure sheds nobody and says nothing about it', () => {
    const { lines, logger } = warnings();
    const admission = line([], logger);
    for (let sample = 0; sample < 5; sample++) admission.shed();
    expect(lines).toEqual([]);
  });

  it('a step that closes connections says how many', () => {
    const { lines, logger } = warnings();
    const closed: string[] = [];
    const conn = (id: string, priority: number) =>
      ({ welcomed: true, openedAt: 0, priority, close: () => closed.push(id) }) as unknown as Connection;
    line([conn('free', 3), conn('pro', 1)], logger).shed();
    expect(closed).toEqual(['free']);
    expect(lines).toEqual([{ obj: { shed: 1 }, msg: 'shedding load' }]);
  });
});
