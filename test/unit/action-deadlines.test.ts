/**
 * Deadlines in one millisecond are read in their members' text order (Redis sorts equal scores
 * so), which must be the order the jobs were queued: BullMQ numbers them upwards.
 */
import { describe, expect, it } from 'vitest';
import { memberOf } from '../../src/actions/action-deadlines.ts';

const entry = (id: string) => ({ id, ref: `r${id}`, sessionId: 's', correlationId: 'c' });

describe('action deadline members', () => {
  it('sort as text in the order their job IDs count', () => {
    const ids = ['1', '2', '9', '10', '99', '100', '999', '1000', '123456789'];
    const members = ids.map((id) => memberOf(entry(id)));
    expect([...members].sort()).toEqual(members);
  });
});
