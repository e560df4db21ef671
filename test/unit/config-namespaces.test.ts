/**
 * CONFIG_FILE: per-namespace channel options, validated at start with messages that
 * name the file, the JSON path and what is allowed; the channel policy built from it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { channelPolicy } from '../../src/config/namespaces.ts';
import { refusal } from '../support/config-refusal.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A config file holding `content` (an object is written as JSON). */
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const policyOf = (env: Record<string, string>) => channelPolicy(loadConfig(env).channels);

describe('without CONFIG_FILE', () => {
  it('every channel has the environment defaults; CHANNEL_RETENTION is the history count', () => {
    const policy = policyOf({ CHANNEL_RETENTION: '500' });
    expect(policy('room:1')).toEqual({
      historyMaxEvents: 500,
      historyMaxAgeMs: 0,
      presence: false,
      joinLeave: false,
      publish: 'clients',
      replay: true,
      maxSubscribers: 0,
      ephemeral: false,
      batch: false,
    });
  });
});

describe('namespaces', () => {
  // As text: in an object literal `__proto__` would set the prototype, not name a key.
  const file = configFile(`{
    "defaults": { "historyMaxEvents": 2000 },
    "namespaces": {
      "room": { "presence": true, "joinLeave": true, "maxSubscribers": 50 },
      "feed": { "publish": "backend", "historyMaxAgeMs": 60000 },
      "cursor": { "replay": false, "historyMaxEvents": 10 },
      "lobby": { "maxSubscribers": 3 },
      "constructor": { "publish": "backend" },
      "__proto__": { "maxSubscribers": 7 },
      "system": { "historyMaxEvents": 100000 }
    }
  }`);
  const policy = policyOf({ CONFIG_FILE: file, CHANNEL_RETENTION: '500' });

  it('a channel takes its namespace’s options, the rest from the file’s defaults, then the environment', () => {
    expect(policy('room:42')).toMatchObject({ presence: true, joinLeave: true, maxSubscribers: 50 });
    expect(policy('room:42').historyMaxEvents).toBe(2000);
    expect(policy('feed:news')).toMatchObject({ publish: 'backend', historyMaxAgeMs: 60_000, replay: true });
    expect(policy('cursor:doc-1')).toMatchObject({ replay: false, historyMaxEvents: 10, publish: 'clients' });
  });

  it('a namespace is the name up to the first colon: room:a:b is in room, a name without one is its own', () => {
    expect(policy('room:a:b').maxSubscribers).toBe(50);
    expect(policy('lobby').maxSubscribers).toBe(3);
    expect(policy('lobby:x').maxSubscribers).toBe(3);
    expect(policy('rooms:1')).toMatchObject({ maxSubscribers: 0, historyMaxEvents: 2000 });
  });

  it('namespaces named like object members are namespaces, nothing more', () => {
    expect(policy('constructor:1').publish).toBe('backend');
    expect(policy('__proto__:1').maxSubscribers).toBe(7);
    expect(policy('toString:1')).toEqual(policy('elsewhere:1'));
    expect(policy('hasOwnProperty').maxSubscribers).toBe(0);
  });

  it('inbox and system channels keep fixed options; system takes only its retention from the file', () => {
    expect(policy('system:sessions')).toMatchObject({
      historyMaxEvents: 100_000,
      publish: 'backend',
      presence: false,
      replay: true,
      maxSubscribers: 0,
      ephemeral: false,
    });
    expect(policy('inbox:abc')).toMatchObject({
      historyMaxEvents: 2000,
      publish: 'backend',
      maxSubscribers: 0,
      ephemeral: false,
    });
  });
});

describe('a file that is refused stops start-up, naming the file, the JSON path and what is allowed', () => {
  it('a misspelt option', () => {
    const file = configFile({ namespaces: { room: { presense: true } } });
    const message = refusal({ CONFIG_FILE: file });
    expect(message).toContain(`CONFIG_FILE="${file}": /namespaces/room: unknown key "presense"`);
    expect(message).toContain(
      'allowed: historyMaxEvents, historyMaxAgeMs, presence, joinLeave, publish, replay, ephemeral, batch, maxSubscribers',
    );
  });

  it('a value outside its set or range, with the option’s description', () => {
    const file = configFile({ namespaces: { feed: { publish: 'anyone', maxSubscribers: -1 } } });
    const message = refusal({ CONFIG_FILE: file });
    expect(message).toContain('/namespaces/feed/publish: must be one of clients, backend — Who may publish');
    expect(message).toContain(
      '/namespaces/feed/maxSubscribers: must be >= 0 — Subscribers a channel may have',
    );
  });

  it('a size or age past what JavaScript counts exactly (JSON’s 1e400 is Infinity)', () => {
    const file = configFile({ namespaces: { feed: { historyMaxAgeMs: 1e16 } } });
    expect(refusal({ CONFIG_FILE: file })).toContain(
      '/namespaces/feed/historyMaxAgeMs: must be <= 9007199254740991',
    );
    expect(refusal({ CONFIG_FILE: configFile('{ "defaults": { "historyMaxEvents": 1e400 } }') })).toContain(
      '/defaults/historyMaxEvents: must be',
    );
  });

  it('a wrong type', () => {
    const message = refusal({ CONFIG_FILE: configFile({ defaults: { replay: 'no' } }) });
    expect(message).toContain('/defaults/replay: must be boolean');
  });

  it('a namespace name that is not one (a channel name up to its first colon)', () => {
    const message = refusal({ CONFIG_FILE: configFile({ namespaces: { 'room:1': {} } }) });
    expect(message).toContain(`/namespaces: "room:1" is not a namespace name`);
  });

  it('an unknown top-level key', () => {
    const message = refusal({ CONFIG_FILE: configFile({ namespace: {} }) });
    expect(message).toContain('/: unknown key "namespace" (allowed: defaults, namespaces)');
  });

  it('joinLeave without presence, in a namespace or inherited', () => {
    const file = configFile({
      defaults: { joinLeave: true, presence: true },
      namespaces: { quiet: { presence: false } },
    });
    expect(refusal({ CONFIG_FILE: file })).toContain(
      '/namespaces/quiet/joinLeave: true needs presence: true',
    );
  });

  it('reserved namespaces: inbox not at all, system only its retention', () => {
    const file = configFile({ namespaces: { inbox: {}, system: { publish: 'clients' } } });
    const message = refusal({ CONFIG_FILE: file });
    expect(message).toContain('/namespaces/inbox: "inbox" is reserved');
    expect(message).toContain('/namespaces/system: "system" channels carry the gateway\'s own notifications');
  });

  it('a file that is missing or not JSON', () => {
    expect(refusal({ CONFIG_FILE: join(dir, 'nope.json') })).toMatch(
      /CONFIG_FILE=".*nope\.json": cannot read it \(ENOENT/,
    );
    expect(refusal({ CONFIG_FILE: configFile('{"namespaces": {') })).toContain('not valid JSON');
  });

  it('every problem at once, one line each', () => {
    const file = configFile({ namespaces: { a: { presence: 1 }, b: { replay: 'x' } } });
    const lines = refusal({ CONFIG_FILE: file })
      .split('\n')
      .filter((line) => line.includes('CONFIG_FILE='));
    expect(lines).toHaveLength(2);
  });
});
