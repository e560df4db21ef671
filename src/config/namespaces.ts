/**
 * Channel namespaces: the file named by CONFIG_FILE, validated at start with
 * messages that name the file, the JSON path and what is allowed, turned into the
 * channel policy the core asks (src/config/channel-policy.ts). Options a namespace
 * leaves out come from the file's `defaults`, then from the environment
 * (CHANNEL_RETENTION is the default `historyMaxEvents`).
 *
 * Namespaces are kept in a Map: a namespace may be called `constructor` or
 * `__proto__`, which must name a namespace and nothing else.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { compiledOnUse, schemaAjv } from '../shared/ajv.ts';
import { type ChannelOptions, type ChannelPolicy, namespaceOf } from './channel-policy.ts';
import { type ConfigFile, ConfigFileSchema, NamespaceOptionsSchema } from './namespaces-schema.ts';

export interface ChannelsConfig {
  /** The CONFIG_FILE the namespaces were read from, if any. */
  file?: string;
  /** Options of channels outside every configured namespace. */
  defaults: ChannelOptions;
  /** Namespace → its options, complete (defaults filled in). */
  namespaces: ReadonlyMap<string, ChannelOptions>;
}

/** Namespaces whose channels belong to the gateway: their options are fixed, but for history retention. */
const INBOX = 'inbox';
const SYSTEM = 'system';
const SYSTEM_KEYS: readonly string[] = ['historyMaxEvents', 'historyMaxAgeMs'];

const OPTION_KEYS = Object.keys(NamespaceOptionsSchema.properties);
const validateFile = compiledOnUse(() =>
  schemaAjv({ allErrors: true, strict: true }).compile<ConfigFile>(ConfigFileSchema),
);

/** A configuration the file makes invalid: one line per problem, each naming the file and the JSON path. */
export class ConfigFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Channel options from the environment alone (no CONFIG_FILE). */
export function environmentDefaults(historyMaxEvents: number): ChannelOptions {
  return {
    historyMaxEvents,
    historyMaxAgeMs: 0,
    presence: false,
    joinLeave: false,
    publish: 'clients',
    replay: true,
    maxSubscribers: 0,
    ephemeral: false,
    batch: false,
  };
}

/** Read and validate CONFIG_FILE; `base` holds what the environment says. Throws ConfigFileError. */
export function loadChannelsConfig(file: string | undefined, base: ChannelOptions): ChannelsConfig {
  if (file === undefined) return { defaults: base, namespaces: new Map() };
  const where = `CONFIG_FILE=${JSON.stringify(file)}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError([`  ${where}: cannot read it (${(error as Error).message})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError([`  ${where}: not valid JSON (${(error as Error).message})`]);
  }
  if (!validateFile(parsed)) {
    throw new ConfigFileError(schemaProblems(validateFile.errors ?? []).map((p) => `  ${where}: ${p}`));
  }
  const defaults: ChannelOptions = { ...base, ...parsed.defaults };
  const namespaces = new Map<string, ChannelOptions>();
  const problems: string[] = [];
  const check = (path: string, merged: ChannelOptions) => {
    if (merged.joinLeave && !merged.presence)
      problems.push(`${path}/joinLeave: true needs presence: true (joins and leaves come from presence)`);
  };
  check('/defaults', defaults);
  for (const [name, options] of Object.entries(parsed.namespaces ?? {})) {
    const path = `/namespaces/${name}`;
    if (name === INBOX) {
      problems.push(`${path}: "inbox" is reserved — inbox channels live and expire with their session`);
      continue;
    }
    const extra = Object.keys(options).filter((key) => !SYSTEM_KEYS.includes(key));
    if (name === SYSTEM && extra.length > 0) {
      problems.push(
        `${path}: "system" channels carry the gateway's own notifications; only ${SYSTEM_KEYS.join(', ')} may be set (not ${extra.join(', ')})`,
      );
      continue;
    }
    const merged: ChannelOptions = { ...defaults, ...options };
    check(path, merged);
    namespaces.set(name, merged);
  }
  if (problems.length > 0) throw new ConfigFileError(problems.map((p) => `  ${where}: ${p}`));
  return { file, defaults, namespaces };
}

/**
 * The policy the core asks: a channel's namespace's options, else the defaults.
 * Inbox and system channels have fixed options (nobody publishes there, no presence,
 * no cap), but for the history retention the file may give `system`.
 */
export function channelPolicy(channels: ChannelsConfig): ChannelPolicy {
  const { defaults, namespaces } = channels;
  const reserved = (retention: ChannelOptions): ChannelOptions => ({
    ...environmentDefaults(retention.historyMaxEvents),
    historyMaxAgeMs: retention.historyMaxAgeMs,
    publish: 'backend',
  });
  const table = new Map(namespaces);
  table.set(INBOX, reserved(defaults));
  table.set(SYSTEM, reserved(namespaces.get(SYSTEM) ?? defaults));
  return (channel) => table.get(namespaceOf(channel)) ?? defaults;
}

/** Ajv's errors as sentences: the JSON path, the rule broken, and what is allowed. */
function schemaProblems(errors: ErrorObject[]): string[] {
  // A union of literals (publish) fails once per branch: report it once, with the allowed values.
  const kept = errors.filter((e) => !/\/anyOf\/\d+\//.test(e.schemaPath));
  return kept.map((e) => {
    const path = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') {
      const key = String(e.params.additionalProperty);
      if (e.instancePath === '/namespaces')
        return `${path}: ${JSON.stringify(key)} is not a namespace name: 1–128 letters, digits, _ . - (a namespace is a channel name up to its first ':')`;
      const allowed = e.instancePath === '' ? 'defaults, namespaces' : OPTION_KEYS.join(', ');
      return `${path}: unknown key ${JSON.stringify(key)} (allowed: ${allowed})`;
    }
    const option = e.instancePath.split('/').pop() ?? '';
    const described = (NamespaceOptionsSchema.properties as Record<string, OptionSchema>)[option];
    const allowed = described?.anyOf?.map((branch) => branch.const).filter((v) => v !== undefined);
    const rule =
      e.keyword === 'anyOf' && allowed?.length ? `must be one of ${allowed.join(', ')}` : e.message;
    return `${path}: ${rule}${described?.description ? ` — ${described.description}` : ''}`;
  });
}

interface OptionSchema {
  description?: string;
  anyOf?: { const?: unknown }[];
}
