/**
 * Turns the environment into a validated, typed `Config`. A bad value stops
 * start-up with a message that names the variable and what is allowed.
 *
 * Everything the Config holds is checked here, once, for `tether start` and
 * `tether check-config` alike: the schema (config-schema.ts), then what a schema cannot
 * say — REDIS_URL's hosts, ports and database, TRUSTED_PROXIES's ranges, HOST, each
 * publish key, thresholds that contradict each other, what production requires. One
 * line per problem: every value the schema refuses at once, then (once those are right)
 * every problem of the checks that read the values.
 *
 * Numbers are read here, not by Ajv's type coercion (which takes `0x1ca6`, `1e400`,
 * `Infinity` and `" 7432 "` for numbers): a number is written in decimal digits — an
 * optional `-`, digits, and for a fraction (the ratios) a `.` and digits. No `+`,
 * exponent, hex, octal or binary prefix, spaces, `Infinity` or `NaN`.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { ErrorObject } from 'ajv';
import { normalizePem, PublicKeyError, parsePublicKey } from '../auth/public-key.ts';
import { schemaAjv } from '../shared/ajv.ts';
import { ConfigError } from './config-error.ts';
import { ANNOTATIONS, type Env, EnvSchema } from './config-schema.ts';
import {
  type ChannelsConfig,
  ConfigFileError,
  environmentDefaults,
  loadChannelsConfig,
} from './namespaces.ts';
import { parseRedisUrl, RedisUrlError, redact } from './redis-url.ts';
import { proxyRanges } from './trusted-proxies.ts';

export { ConfigError } from './config-error.ts';

export interface AuthConfig {
  /** Tokens without `exp` are refused (AUTH_REQUIRE_EXP). */
  requireExp: boolean;
  hs256Secret?: string;
  publicKeyPem?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface Config {
  production: boolean;
  host: string;
  port: number;
  /** Which edge serves sockets (src/edge/select-edge.ts). */
  edge: Env['EDGE'];
  nodeId: string;
  /** Unset: 127.0.0.1:6379 if it answers, else the private server; `embedded`: always the private server. */
  redisUrl?: string;
  redisPrefix: string;
  /** Where the private redis-server keeps its append-only file (src/redis/embedded-redis.ts). */
  redisDataDir: string;
  /** Share the port with other processes (SO_REUSEPORT); else a port in use refuses start-up. */
  reusePort: boolean;
  /** Browser origins allowed to open a WebSocket (lower case); empty = any. */
  allowedOrigins: string[];
  auth: AuthConfig;
  /** true when no auth was configured: dev tokens are minted and printed. */
  devMode: boolean;
  publishApiKeys: string[];
  adminApiKey?: string;
  maxMessageBytes: number;
  idleTimeoutS: number;
  handshakeTimeoutMs: number;
  resumeWindowMs: number;
  channelRetention: number;
  /** UNUSED_LOG_TTL_MS: a log read but never published to expires that long after its last read. */
  unusedLogTtlMs: number;
  /** Channel options by namespace (CONFIG_FILE), defaults from the environment. */
  channels: ChannelsConfig;
  /** How long a publish's idempotency key is remembered, ms. */
  idempotencyWindowMs: number;
  /** Which lifecycle notifications are appended to the reserved system channels. */
  lifecycleEvents: { sessions: boolean; channels: boolean };
  maxBackpressureBytes: number;
  maxConnections: number;
  maxErrorsPerMinute: number;
  maxSubscriptionsPerConnection: number;
  drainTimeoutMs: number;
  drainBatchSize: number;
  sessionLeaseMs: number;
  logLevel: Env['LOG_LEVEL'];
  /** What a client's `traceparent` does (src/observability/connection-trace.ts). */
  traceClientContext: Env['TRACE_CLIENT_CONTEXT'];
  admission: AdmissionConfig;
  limits: LimitsConfig;
  actions: ActionsConfig;
  inspect: InspectConfig;
  /** REDIS_PUBSUB; undefined = sharded on a cluster, classic elsewhere. */
  redisPubSub?: Env['REDIS_PUBSUB'];
  /** Replicas that must confirm an append before it is acked (WAIT), and how long to wait, ms. */
  publishAck: { replicas: number; timeoutMs: number };
  compression: CompressionConfig;
}

/** permessage-deflate on the WebSocket edges (src/edge/compression.ts). */
export interface CompressionConfig {
  mode: Env['WS_COMPRESSION'];
  /** Frames shorter than this (characters) go uncompressed. */
  thresholdBytes: number;
  /** A dedicated compressor's window, KiB. */
  windowKb: number;
}

export interface AdmissionConfig {
  timeoutMs: number;
  /** Waiters allowed in this process's admission queue; 0 = refuse instead of queueing. */
  queueMax: number;
  tierPriorities: Record<string, number>;
  sampleMs: number;
  saturate: { lagMs: number; heapRatio: number; bufferedBytes: number };
  shed: { lagMs: number; heapRatio: number; bufferedBytes: number };
  shedBatchRatio: number;
}

export interface LimitsConfig {
  trustedProxies: string[];
  windowS: number;
  connectPerIp: number;
  connectPerUser: number;
  maxPerIp: number;
  maxPerUser: number;
  messagesPerSecond: number;
  authFailuresPerIp: number;
  authFailureWindowS: number;
}

export interface ActionsConfig {
  highWater: number;
  /** ACTION_QUEUE_SHARDS; undefined = by topology (src/config/redis-url.ts defaultActionShards). */
  queueShards?: number;
  priorities: Record<string, number>;
  lowPriorityFrom: number;
  /** ACTION_QUEUE_TIMEOUT_MS: an action no worker took by then is withdrawn and answered; 0 = never. */
  queueTimeoutMs: number;
}

/** Which actors the live Stately inspector sees (src/admin/live-inspector.ts). */
export type InspectMode =
  | { kind: 'off' }
  | { kind: 'pool' }
  | { kind: 'all' }
  /** The pool and one connection actor in `every`. */
  | { kind: 'sample'; every: number }
  /** The pool and the connection actors of these users (attached once authenticated). */
  | { kind: 'users'; userIds: string[] };

export interface InspectConfig {
  mode: InspectMode;
  /** Port of the inspector bridge page. */
  port: number;
}

interface PropertySchema {
  description?: string;
  anyOf?: { const?: unknown }[];
  type?: string;
  default?: unknown;
  maximum?: number;
  unit?: string;
  secret?: boolean;
  examples?: string[];
}

const PROPERTIES = EnvSchema.properties as Record<string, PropertySchema>;

// Booleans only: numbers are read by readNumber before Ajv sees them.
const ajv = schemaAjv({ coerceTypes: true, useDefaults: true, allErrors: true });
ajv.addVocabulary([...ANNOTATIONS]);
const validateEnv = ajv.compile<Env>(EnvSchema);

/** A whole number in decimal digits; a number (a ratio) may have a fraction. */
export const DECIMAL = { integer: /^-?\d+$/, number: /^-?(?:\d+(?:\.\d+)?|\.\d+)$/ } as const;

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, described] of Object.entries(PROPERTIES)) {
    const value = source[key];
    if (value === undefined || value === '') continue;
    if (described.type !== 'integer' && described.type !== 'number') {
      env[key] = value;
      continue;
    }
    const read = readNumber(value, described);
    if (typeof read === 'number') env[key] = read;
    else problems.push(problem(key, value, read));
  }
  if (!validateEnv(env)) {
    // A union of literals (LOG_LEVEL) fails once per branch ("must be equal to constant"):
    // report it once, with the values that are allowed.
    const errors = (validateEnv.errors ?? []).filter((e) => !/\/anyOf\/\d+\//.test(e.schemaPath));
    for (const e of errors) {
      const variable = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? '');
      problems.push(problem(variable, source[variable], ruleOf(e, PROPERTIES[variable])));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return toConfig(env as Env); // validateEnv passed: no problem came from it
}

/** `NAME=value: rule — what it is for`, one line of a ConfigError. */
function problem(variable: string, value: string | undefined, rule: string): string {
  const described = PROPERTIES[variable];
  return `${shown(variable, value)}: ${rule}${described?.description ? ` — ${described.description}` : ''}`;
}

/**
 * `text` as the number the schema asks for, or why it is not one: decimal digits only
 * (the module comment), and finite — digits enough to overflow a double are past every
 * maximum the schema sets.
 */
function readNumber(text: string, described: PropertySchema): number | string {
  const unit = described.unit ? ` ${described.unit}` : '';
  const integer = described.type === 'integer';
  if (!DECIMAL[integer ? 'integer' : 'number'].test(text)) {
    const example = described.default === undefined ? '' : ` (e.g. ${described.default})`;
    return integer
      ? `must be a whole number${unit && ` of${unit}`}, written in decimal digits${example}`
      : `must be a number written in decimal digits${example}`;
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return `must be at most ${described.maximum}${unit}`;
  return value;
}

/**
 * `NAME="value"` as an error may print it: a secret's value never (its length says
 * what was wrong with it), a URL's password neither.
 */
export function shown(variable: string, value: string | undefined): string {
  if (value === undefined) return variable;
  const described = (EnvSchema.properties as Record<string, PropertySchema>)[variable];
  if (described?.secret) return `${variable}=<hidden, ${value.length} characters>`;
  return `${variable}=${JSON.stringify(redact(value))}`;
}

/** What the value must be, in a person's words: units said, a valid example instead of a regex. */
function ruleOf(error: ErrorObject, described: PropertySchema | undefined): string {
  const unit = described?.unit ? ` ${described.unit}` : '';
  const { limit } = error.params as { limit?: number };
  switch (error.keyword) {
    case 'anyOf': {
      const allowed = described?.anyOf?.map((branch) => branch.const).filter((v) => v !== undefined);
      return allowed?.length ? `must be one of ${allowed.join(', ')}` : String(error.message);
    }
    case 'enum': {
      const { allowedValues } = error.params as { allowedValues: unknown[] };
      return `must be one of ${allowedValues.join(', ')}${unit}`;
    }
    case 'pattern':
      return described?.examples?.length
        ? `not in the expected form; for example ${described.examples.map((e) => JSON.stringify(e)).join(' or ')}`
        : 'not in the expected form';
    case 'minimum':
      return `must be at least ${limit}${unit}`;
    case 'exclusiveMinimum':
      return `must be above ${limit}${unit}`;
    case 'maximum':
      return `must be at most ${limit}${unit}`;
    case 'minLength':
      return `must be at least ${limit} characters`;
    case 'maxLength':
      return `must be at most ${limit} characters`;
    case 'type': {
      const { type } = error.params as { type: string };
      const kind = { boolean: 'true or false', integer: 'a whole number', number: 'a number' }[type];
      return `must be ${kind ?? `a ${type}`}${unit && ` of${unit}`}`;
    }
    default:
      return String(error.message);
  }
}

function toConfig(env: Env): Config {
  const production = env.NODE_ENV === 'production';
  const problems: string[] = [];
  /** The value of a check that failed: its problem is recorded, the Config is never returned. */
  const refused = <T>(lines: readonly string[], fallback: T): T => {
    problems.push(...lines);
    return fallback;
  };
  const auth: AuthConfig = {
    requireExp: env.AUTH_REQUIRE_EXP ?? production,
    hs256Secret: env.AUTH_JWT_SECRET,
    publicKeyPem: env.AUTH_JWT_PUBLIC_KEY && checkedPublicKey(env.AUTH_JWT_PUBLIC_KEY, refused),
    jwksUrl: env.AUTH_JWKS_URL,
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
  };
  if (env.AUTH_JWKS_URL && !URL.canParse(env.AUTH_JWKS_URL))
    problems.push(`${shown('AUTH_JWKS_URL', env.AUTH_JWKS_URL)}: not a valid URL`);
  const devMode = !auth.hs256Secret && !auth.publicKeyPem && !auth.jwksUrl && !env.AUTH_JWT_PUBLIC_KEY;
  if (devMode && production)
    problems.push(
      'NODE_ENV=production but no client auth is configured — set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL (development mode, which mints tokens for anyone, is refused in production).',
    );
  if (isIP(env.HOST) === 0 && env.HOST !== 'localhost')
    problems.push(
      `${shown('HOST', env.HOST)}: not an IP address — listen on an address of this machine (0.0.0.0 = every IPv4 interface, :: = every interface) or localhost`,
    );
  if (env.REDIS_URL && env.REDIS_URL !== 'embedded') {
    // The pattern admits the scheme; the hosts, ports, database and Sentinel master are read here.
    try {
      parseRedisUrl(env.REDIS_URL);
    } catch (error) {
      if (!(error instanceof RedisUrlError)) throw error;
      problems.push(error.message);
    }
  }
  const publishApiKeys = list(env.PUBLISH_API_KEYS ?? '');
  problems.push(...shortKeys(env.PUBLISH_API_KEYS, publishApiKeys));
  if (production && publishApiKeys.length === 0)
    problems.push(
      env.PUBLISH_API_KEYS === undefined
        ? 'NODE_ENV=production requires PUBLISH_API_KEYS for POST /publish.'
        : `${shown('PUBLISH_API_KEYS', env.PUBLISH_API_KEYS)}: holds no key, and NODE_ENV=production requires one for POST /publish.`,
    );
  if (production && (!env.REDIS_URL || env.REDIS_URL === 'embedded'))
    problems.push(
      'NODE_ENV=production requires REDIS_URL=redis://host:port (a Redis with appendonly yes): the embedded redis-server lives and dies with this process, so it cannot keep events across restarts.',
    );
  const trustedProxies = list(env.TRUSTED_PROXIES);
  try {
    proxyRanges(trustedProxies);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const inspect = inspectMode(env.INSPECT);
  if (inspect.kind !== 'off' && env.INSPECT_PORT === env.PORT)
    problems.push(
      `INSPECT_PORT=${env.INSPECT_PORT} is PORT too: the inspector bridge (INSPECT=${env.INSPECT}) needs a port of its own`,
    );
  const tierPriorities = pairs('TIER_PRIORITIES', env.TIER_PRIORITIES, refused);
  const actionPriorities = pairs('ACTION_PRIORITIES', env.ACTION_PRIORITIES, refused);
  problems.push(...contradictoryThresholds(env));
  const channels = channelsConfig(env, refused);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    production,
    host: env.HOST,
    port: env.PORT,
    edge: env.EDGE,
    nodeId: env.NODE_ID ?? `${hostname()}-${process.pid}`,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    redisDataDir: env.REDIS_DATA_DIR,
    reusePort: env.REUSE_PORT,
    allowedOrigins: list(env.ALLOWED_ORIGINS).map((origin) => origin.toLowerCase()),
    auth,
    devMode,
    publishApiKeys,
    adminApiKey: env.ADMIN_API_KEY,
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    idleTimeoutS: env.HEARTBEAT_IDLE_TIMEOUT_S,
    handshakeTimeoutMs: env.HANDSHAKE_TIMEOUT_MS,
    resumeWindowMs: env.RESUME_WINDOW_MS,
    channelRetention: env.CHANNEL_RETENTION,
    unusedLogTtlMs: env.UNUSED_LOG_TTL_MS,
    channels,
    idempotencyWindowMs: env.IDEMPOTENCY_WINDOW_MS,
    lifecycleEvents: {
      sessions: list(env.LIFECYCLE_EVENTS).includes('sessions'),
      channels: list(env.LIFECYCLE_EVENTS).includes('channels'),
    },
    maxBackpressureBytes: env.MAX_BACKPRESSURE_BYTES,
    maxConnections: env.MAX_CONNECTIONS,
    maxErrorsPerMinute: env.MAX_ERRORS_PER_MINUTE,
    maxSubscriptionsPerConnection: env.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    drainBatchSize: env.DRAIN_BATCH_SIZE,
    sessionLeaseMs: env.SESSION_LEASE_MS,
    logLevel: env.LOG_LEVEL,
    traceClientContext: env.TRACE_CLIENT_CONTEXT,
    admission: {
      timeoutMs: env.ADMISSION_TIMEOUT_MS,
      queueMax: env.ADMISSION_QUEUE_MAX,
      tierPriorities,
      sampleMs: env.RESOURCE_SAMPLE_MS,
      saturate: {
        lagMs: env.SATURATE_EVENT_LOOP_LAG_MS,
        heapRatio: env.SATURATE_HEAP_RATIO,
        bufferedBytes: env.SATURATE_BUFFERED_BYTES,
      },
      shed: {
        lagMs: env.SHED_EVENT_LOOP_LAG_MS,
        heapRatio: env.SHED_HEAP_RATIO,
        bufferedBytes: env.SHED_BUFFERED_BYTES,
      },
      shedBatchRatio: env.SHED_BATCH_RATIO,
    },
    limits: {
      trustedProxies,
      windowS: env.RATE_WINDOW_S,
      connectPerIp: env.RATE_CONNECT_PER_IP,
      connectPerUser: env.RATE_CONNECT_PER_USER,
      maxPerIp: env.MAX_CONNECTIONS_PER_IP,
      maxPerUser: env.MAX_CONNECTIONS_PER_USER,
      messagesPerSecond: env.MESSAGES_PER_SECOND,
      authFailuresPerIp: env.AUTH_FAILURES_PER_IP,
      authFailureWindowS: env.AUTH_FAILURE_WINDOW_S,
    },
    actions: {
      highWater: env.ACTIONS_HIGH_WATER,
      queueShards: env.ACTION_QUEUE_SHARDS,
      priorities: actionPriorities,
      lowPriorityFrom: env.ACTIONS_LOW_PRIORITY_FROM,
      queueTimeoutMs: env.ACTION_QUEUE_TIMEOUT_MS,
    },
    inspect: { mode: inspect, port: env.INSPECT_PORT },
    compression: {
      mode: env.WS_COMPRESSION,
      thresholdBytes: env.WS_COMPRESSION_THRESHOLD_BYTES,
      windowKb: env.WS_COMPRESSION_WINDOW_KB,
    },
    redisPubSub: env.REDIS_PUBSUB,
    publishAck: { replicas: env.PUBLISH_ACK_REPLICAS, timeoutMs: env.PUBLISH_ACK_TIMEOUT_MS },
  };
}

/**
 * Pairs of thresholds that must come in order: saturation (stop direct admission)
 * before shedding (src/admission/resource-monitor.ts checks shed first, so a
 * saturate threshold above its shed one would never act on its own). A threshold of 0
 * is off, so a pair with either one off has no order to keep.
 */
function contradictoryThresholds(env: Env): string[] {
  const pairs = [
    ['SATURATE_EVENT_LOOP_LAG_MS', 'SHED_EVENT_LOOP_LAG_MS', ' ms'],
    ['SATURATE_HEAP_RATIO', 'SHED_HEAP_RATIO', ''],
    ['SATURATE_BUFFERED_BYTES', 'SHED_BUFFERED_BYTES', ' bytes'],
  ] as const;
  return pairs
    .filter(([low, high]) => env[high] > 0 && env[low] > env[high])
    .map(
      ([low, high, unit]) =>
        `${low}=${env[low]}${unit} is above ${high}=${env[high]}${unit}: saturation must come before shedding (0 turns a threshold off)`,
    );
}

/** Records the problems of a check that failed and returns `fallback` in place of its value. */
type Refuse = <T>(problems: readonly string[], fallback: T) => T;

/** CONFIG_FILE's namespaces; its problems stop start-up like the environment's. */
function channelsConfig(env: Env, refuse: Refuse): ChannelsConfig {
  const base = environmentDefaults(env.CHANNEL_RETENTION);
  try {
    return loadChannelsConfig(env.CONFIG_FILE, base);
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    // Its lines are indented already (the file's own format).
    return refuse(
      error.problems.map((line) => line.replace(/^ {2}/, '')),
      { defaults: base, namespaces: new Map() },
    );
  }
}

/** The PEM, with `\n` escapes turned into line breaks; refused here, not at the first hello. */
function checkedPublicKey(pem: string, refuse: Refuse): string | undefined {
  try {
    parsePublicKey(pem);
  } catch (error) {
    if (!(error instanceof PublicKeyError)) throw error;
    return refuse([`AUTH_JWT_PUBLIC_KEY: ${error.message}`], undefined);
  }
  return normalizePem(pem);
}

/** The least a publish API key may be, like ADMIN_API_KEY: guessing it must be out of reach. */
const MIN_API_KEY_LENGTH = 16;

/** A line for each key of PUBLISH_API_KEYS shorter than MIN_API_KEY_LENGTH (its length, never the key). */
function shortKeys(text: string | undefined, keys: string[]): string[] {
  return keys.flatMap((key, i) =>
    key.length >= MIN_API_KEY_LENGTH
      ? []
      : [
          `${shown('PUBLISH_API_KEYS', text)}: each key must be at least ${MIN_API_KEY_LENGTH} characters (key ${i + 1} of ${keys.length} has ${key.length})`,
        ],
  );
}

/** `sample:10` → { kind: 'sample', every: 10 } (the schema's pattern already checked the shape). */
function inspectMode(value: string): InspectMode {
  const [kind, argument = ''] = value.split(/:(.*)/s);
  if (kind === 'sample') return { kind, every: Number(argument) };
  if (kind === 'users') return { kind, userIds: list(argument) };
  return { kind: kind === 'pool' || kind === 'all' ? kind : 'off' };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * `a=1,b=2` as a lookup table with no prototype: it is indexed by names that come
 * from tokens and clients (a tier, an action), and `constructor` must find nothing.
 * The schema's pattern already checked the shape; a name given twice is refused (which
 * one was meant?).
 */
function pairs(variable: string, value: string, refuse: Refuse): Record<string, number> {
  const table: Record<string, number> = Object.create(null);
  const twice = new Set<string>();
  for (const pair of list(value)) {
    const [name = '', priority] = pair.split('=');
    if (name in table) twice.add(name);
    table[name] = Number(priority);
  }
  if (twice.size === 0) return table;
  return refuse(
    [...twice].map((name) => `${shown(variable, value)}: ${JSON.stringify(name)} is given twice`),
    table,
  );
}
