import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXPORT_DIR, renderMachines } from '../../scripts/export-machines.ts';

describe('docs/machines/*.json', () => {
  it('match the machines in machines/ (run `npm run machines` after changing one)', async () => {
    const rendered = await renderMachines();
    expect([...rendered.keys()].sort()).toEqual(expect.arrayContaining(['connection', 'pool']));
    for (const [id, json] of rendered) {
      const path = `${EXPORT_DIR}${id}.json`;
      expect(existsSync(path), `docs/machines/${id}.json is missing`).toBe(true);
      expect(readFileSync(path, 'utf8'), `docs/machines/${id}.json is stale`).toBe(json);
    }
  });

  it('keep named actions, guards and steps visible (no function serialized as null)', async () => {
    const connection = JSON.parse((await renderMachines()).get('connection') as string);
    const handshake = connection.states.connecting.states.handshake;
    const timeout = Object.entries(handshake.on).find(([event]) => event.startsWith('xstate.after.'));
    expect(JSON.stringify(timeout)).toContain('"closeTransport"');
    expect(JSON.stringify(handshake.states.authenticating.entry)).toContain('"authenticate"');
    expect(Object.keys(handshake.states.authenticating.on)).toEqual([
      'authenticate.done',
      'authenticate.failed',
    ]);
    expect(JSON.stringify(handshake.states.attaching.entry)).toContain('"attachSession"');
    expect(Object.keys(handshake.states.attaching.on)).toEqual(['attach.done', 'attach.failed']);
    expect(JSON.stringify(connection.states.connected.on['transport.closed'])).toContain('clientSaidBye');
    expect(JSON.stringify(connection)).not.toMatch(/"actions":\[[^\]]*null/);
  });
});
