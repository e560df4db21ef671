/**
 * The gateway's configuration, read once from the environment at start-up and
 * passed down. Every variable, its unit and its default live here; README.md's
 * configuration table is generated from the same descriptions (`npm run docs:config`).
 *
 * Numbers are written in decimal digits (src/config/config.ts reads them, not Ajv's
 * coercion), and every numeric setting has a maximum: durations TIMER_MAX_MS (or
 * TIMER_MAX_S), counts COUNT_MAX, unless their own is lower.
 */
import { type Static, Type as T } from '@sinclair/typebox';

/**
 * The longest delay Node's timers take: setTimeout and setInterval hold a signed 32-bit
 * count of ms, and a longer one fires after 1 ms (TimeoutOverflowWarning) — an interval
 * then runs every millisecond. 2147483647 ms is about 24.8 days. Every duration setting
 * is at most this (Ms, Seconds), so whatever timer it ends up in waits as long as it says;
 * Redis takes far longer expiries, so a duration that is also a TTL is bounded by this too.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;
/** TIMER_MAX_MS in whole seconds (2147483), for windows set in seconds. */
export const TIMER_MAX_S = Math.floor(TIMER_MAX_MS / 1000);
/**
 * The largest count (events kept, connections, limits): exact as a double (Lua scripts
 * and JSON), within a signed 32-bit integer (uWS), far past any real setting.
 */
export const COUNT_MAX = 1_000_000_000;

/** A duration in ms: a whole number, at most TIMER_MAX_MS. */
const Ms = (def: number, description: string, minimum = 0, maximum = TIMER_MAX_MS) =>
  T.Integer({ default: def, minimum, maximum, unit: 'ms', description: `${description} (ms)` });

/** A duration in seconds: a whole number, at most TIMER_MAX_S. */
const Seconds = (def: number, description: string, minimum = 1, maximum = TIMER_MAX_S) =>
  T.Integer({ default: def, minimum, maximum, unit: 's', description: `${description} (s)` });

/** A count: a whole number, at most COUNT_MAX. */
const Count = (def: number, description: string, minimum = 0, maximum = COUNT_MAX) =>
  T.Integer({ default: def, minimum, maximum, description });

/** A share, 0–1. */
const Ratio = (def: number, description: string) =>
  T.Number({ default: def, minimum: 0, maximum: 1, description });

/**
 * Annotations the error messages read (src/config/config.ts), beside the JSON Schema
 * keywords: `unit` of a number ("must be ≥ 100 ms"), `secret` (the value is never
 * printed), and the standard `examples` (a pattern error shows one, not the regex).
 * `allowed` says what the README's table cannot read from the schema (a value that
 * src/config/config.ts checks itself).
 */
export const ANNOTATIONS = ['unit', 'secret', 'allowed'] as const;

export const EnvSchema = T.Object({
  NODE_ENV: T.Union([T.Literal('production'), T.Literal('development'), T.Literal('test')], {
    default: 'development',
    description:
      'production refuses development mode and requires REDIS_URL and PUBLISH_API_KEYS; written in lower case, and any other value (`Production`, `prod`) is refused rather than run as development',
  }),
  HOST: T.String({
    default: '0.0.0.0',
    allowed: 'an IP address, or `localhost`',
    description:
      'Address to listen on: an IP address of this machine (0.0.0.0 = every IPv4 interface, :: = every interface) or localhost',
  }),
  PORT: T.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'WebSocket + HTTP port' }),
  EDGE: T.Union([T.Literal('auto'), T.Literal('uws'), T.Literal('ws')], {
    default: 'auto',
    description:
      'WebSocket edge: uws = native uWebSockets.js (refuses to start where no build loads), ws = portable edge on ws + node:http, auto = uws where a build loads, else ws (docs/edge.md)',
  }),
  NODE_ID: T.Optional(
    T.String({
      minLength: 1,
      maxLength: 64,
      // What Redis takes in a connection name (CLIENT SETNAME: no spaces or newlines).
      pattern: '^[!-~]+$',
      examples: ['gw-a'],
      description:
        'Name of this process, printable ASCII without spaces (default: host-pid); unique per Redis: a start under the ID of a live process is refused (exit 2)',
    }),
  ),
  REDIS_URL: T.Optional(
    T.String({
      pattern: '^(rediss?(\\+(cluster|sentinel))?://|embedded$)',
      examples: ['redis://redis.internal:6379', 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379', 'embedded'],
      description:
        'Redis: redis[s]://host:port[/db], redis[s]+cluster://host:port[,host:port…] (seed nodes), redis[s]+sentinel://host:port[,host:port…]/<masterName>; required with NODE_ENV=production. Unset = 127.0.0.1:6379 if it answers, else a private redis-server keeping an append-only file in REDIS_DATA_DIR; `embedded` = always that private one',
    }),
  ),
  REDIS_PREFIX: T.String({
    default: 'tether',
    pattern: '^[A-Za-z0-9_-]{1,32}$',
    examples: ['tether'],
    description: 'Key prefix',
  }),
  AUTH_JWT_SECRET: T.Optional(
    T.String({ minLength: 32, secret: true, description: 'HS256 secret for client tokens' }),
  ),
  AUTH_JWT_PUBLIC_KEY: T.Optional(
    T.String({
      minLength: 1,
      description:
        'Public key (SPKI PEM; `\\n` escapes allowed) for client tokens: RSA → RS256/PS256, EC P-256 → ES256 (P-384 → ES384, P-521 → ES512), Ed25519 → EdDSA',
    }),
  ),
  AUTH_JWKS_URL: T.Optional(
    T.String({
      pattern: '^https?://',
      examples: ['https://auth.example.com/.well-known/jwks.json'],
      description: 'JWKS endpoint for RS256/PS256/ES256/ES384/ES512/EdDSA tokens',
    }),
  ),
  AUTH_ISSUER: T.Optional(T.String({ description: 'Required `iss` claim' })),
  AUTH_AUDIENCE: T.Optional(T.String({ description: 'Required `aud` claim' })),
  AUTH_REQUIRE_EXP: T.Optional(
    T.Boolean({
      description:
        'Refuse tokens without an `exp` claim (AUTH_INVALID_TOKEN); default true with NODE_ENV=production, else false',
    }),
  ),
  PUBLISH_API_KEYS: T.Optional(
    T.String({
      secret: true,
      allowed: 'keys of ≥ 16 characters, comma-separated',
      description:
        'Comma-separated API keys for POST /publish, each at least 16 characters; required with NODE_ENV=production',
    }),
  ),
  ADMIN_API_KEY: T.Optional(
    T.String({ minLength: 16, secret: true, description: 'Credential for admin routes' }),
  ),
  MAX_MESSAGE_BYTES: T.Integer({
    default: 65536,
    minimum: 1024,
    maximum: 16777216,
    unit: 'bytes',
    description: 'Largest inbound frame (bytes)',
  }),
  HEARTBEAT_IDLE_TIMEOUT_S: T.Integer({
    default: 40,
    minimum: 8,
    maximum: 960,
    unit: 's',
    description:
      'Silence (s) after which a peer is dropped; uWS pings min(this/2, 16) s before (40: ping at 24 s, drop at 40 s)',
  }),
  HANDSHAKE_TIMEOUT_MS: Ms(
    10_000,
    'Time allowed from socket open to welcome (the wait in the admission queue aside): a hello later than this closes with HANDSHAKE_TIMEOUT, a gateway slower than this with SERVER_TIMEOUT',
    100,
  ),
  RESUME_WINDOW_MS: Ms(120_000, 'How long a dropped session stays resumable', 1000),
  CHANNEL_RETENTION: Count(
    10_000,
    'Events kept per channel stream (approximate MAXLEN); the default `historyMaxEvents` of channel namespaces',
    10,
  ),
  UNUSED_LOG_TTL_MS: T.Integer({
    default: 86_400_000,
    minimum: 1000,
    // A Redis TTL; the timer that renews it runs every quarter of it (under TIMER_MAX_MS).
    maximum: 2_592_000_000,
    unit: 'ms',
    description:
      'How long a channel log that never held an event (made by a subscribe or a history read, for its epoch) is kept after its last read; a gateway with subscribers on it keeps it (ms, at most 30 days)',
  }),
  CONFIG_FILE: T.Optional(
    T.String({
      minLength: 1,
      description:
        'JSON file of per-namespace channel options (history, presence, publish, replay, subscriber cap): see "Channel namespaces" below',
    }),
  ),
  IDEMPOTENCY_WINDOW_MS: Ms(
    600_000,
    'How long a publish’s `idempotencyKey` is remembered: a repeat within it appends nothing and gets the first ID',
    1000,
  ),
  LIFECYCLE_EVENTS: T.String({
    default: '',
    pattern: '^((sessions|channels)(,(sessions|channels))*)?$',
    examples: ['sessions,channels'],
    description:
      'Lifecycle notifications appended to reserved channels for backends: `sessions` → system:sessions (started, ended), `channels` → system:channels (occupied, vacated); comma-separated, empty = none',
  }),
  MAX_BACKPRESSURE_BYTES: T.Integer({
    default: 1_048_576,
    minimum: 65536,
    // uWS's own limit is 4× this (src/core/slow-consumers.ts), and must fit its 32-bit field.
    maximum: 268_435_456,
    unit: 'bytes',
    description: 'Outbound bytes buffered per socket before it is closed as a slow consumer',
  }),
  MAX_CONNECTIONS: Count(10_000, 'Connections admitted per process', 1),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: Count(
    512,
    'Channels one connection may subscribe to at once; one more is TOO_MANY_SUBSCRIPTIONS',
    1,
  ),
  MAX_ERRORS_PER_MINUTE: Count(
    20,
    'Invalid frames tolerated per connection per minute before TOO_MANY_ERRORS',
    1,
  ),
  DRAIN_TIMEOUT_MS: Ms(10_000, 'Longest graceful shutdown before exit', 100),
  DRAIN_BATCH_SIZE: Count(500, 'Clients closed per drain step', 1),
  SESSION_LEASE_MS: Ms(30_000, 'How often live sessions refresh their Redis TTL', 1000),
  ADMISSION_TIMEOUT_MS: Ms(30_000, 'Longest wait in the admission queue before close 1013', 100),
  ADMISSION_QUEUE_MAX: Count(
    1000,
    'Connections that may wait in this process’s admission queue; past it a newcomer gets SERVER_BUSY (1013) at once; 0 = no queue',
  ),
  TIER_PRIORITIES: T.String({
    default: 'enterprise=1,pro=2,standard=3,free=4',
    // 1–9: BullMQ turns 0 into 1 (so the local line would disagree), and the action
    // priority is class × 10 + tier priority (src/actions/action-dispatcher.ts).
    pattern: '^[A-Za-z0-9_-]+=[1-9](,[A-Za-z0-9_-]+=[1-9])*$',
    examples: ['enterprise=1,pro=2,free=4'],
    description: 'Token `tier` → admission priority 1–9 (1 = first); unknown tiers rank last',
  }),
  RESOURCE_SAMPLE_MS: Ms(500, 'How often event-loop lag, heap and buffered bytes are sampled', 50),
  SATURATE_EVENT_LOOP_LAG_MS: Ms(
    100,
    'Event-loop delay (max over a sample) that stops direct admission; at most SHED_EVENT_LOOP_LAG_MS; 0 = off',
  ),
  SHED_EVENT_LOOP_LAG_MS: Ms(
    500,
    'Event-loop delay (max over a sample) that starts shedding when two samples in a row reach it (one alone stops direct admission); 0 = off',
  ),
  SATURATE_HEAP_RATIO: Ratio(0.85, 'Heap used / limit that saturates; at most SHED_HEAP_RATIO; 0 = off'),
  SHED_HEAP_RATIO: Ratio(0.95, 'Heap used / limit that sheds; 0 = off'),
  SATURATE_BUFFERED_BYTES: T.Integer({
    default: 268_435_456,
    minimum: 0,
    maximum: 1_099_511_627_776,
    unit: 'bytes',
    description:
      'Outbound bytes buffered across sockets that saturates (bytes); at most SHED_BUFFERED_BYTES; 0 = off',
  }),
  SHED_BUFFERED_BYTES: T.Integer({
    default: 536_870_912,
    minimum: 0,
    maximum: 1_099_511_627_776,
    unit: 'bytes',
    description: 'Outbound bytes buffered across sockets that sheds (bytes); 0 = off',
  }),
  SHED_BATCH_RATIO: T.Number({
    default: 0.05,
    exclusiveMinimum: 0,
    maximum: 1,
    description:
      'Share of connections shed per sample while critical (at least one); above 0 (to shed nothing, set the SHED_* thresholds to 0)',
  }),
  TRUSTED_PROXIES: T.String({
    default: '',
    allowed: 'IP addresses and CIDR ranges, comma-separated',
    description:
      'Comma-separated proxy addresses or CIDR ranges (IPv4 or IPv6) whose Forwarded / X-Forwarded-For / X-Forwarded-Proto are believed (ops/nginx/README.md)',
  }),
  RATE_WINDOW_S: Seconds(60, 'Window of the connection-attempt limits'),
  RATE_CONNECT_PER_IP: Count(300, 'Connection attempts per IP (IPv6: per /64) per window; 0 = off'),
  RATE_CONNECT_PER_USER: Count(60, 'Connection attempts per user per window; 0 = off'),
  MAX_CONNECTIONS_PER_IP: Count(1000, 'Concurrent connections per IP (IPv6: per /64); 0 = off'),
  MAX_CONNECTIONS_PER_USER: Count(50, 'Concurrent connections per user; 0 = off'),
  MESSAGES_PER_SECOND: Count(
    100,
    'Inbound frames per second per connection, WebSocket pings and pongs included (bursts of 2×); 0 = off',
  ),
  AUTH_FAILURES_PER_IP: Count(
    10,
    'Failed hellos per IP (IPv6: per /64) per AUTH_FAILURE_WINDOW_S before AUTH_RATE_LIMITED; 0 = off',
  ),
  AUTH_FAILURE_WINDOW_S: Seconds(900, 'Window of the failed-hello count per IP'),
  ACTIONS_HIGH_WATER: Count(1000, 'Waiting action jobs above which low-priority actions are rejected', 1),
  ACTION_QUEUE_SHARDS: T.Optional(
    T.Integer({
      minimum: 1,
      maximum: 256,
      description:
        "BullMQ queues the actions are split into, each on its own cluster slot; a session's actions stay in one (their order holds), across shards the priority order is per shard. Action workers must consume at least as many; default 8 on a cluster, else 1",
    }),
  ),
  ACTION_QUEUE_TIMEOUT_MS: Ms(
    20_000,
    'An action no worker has taken within this is withdrawn unrun and answered ACTION_TIMEOUT (under the SDK’s 30 s actionTimeoutMs); 0 = never',
  ),
  ACTION_PRIORITIES: T.String({
    default: 'default=5',
    pattern: '^[A-Za-z0-9_.:-]+=[1-9](,[A-Za-z0-9_.:-]+=[1-9])*$',
    examples: ['default=5,report.export=7'],
    description: 'Action name → class 1–9 (1 = first); `default` for the rest',
  }),
  ACTIONS_LOW_PRIORITY_FROM: T.Integer({
    default: 6,
    minimum: 1,
    maximum: 10,
    description:
      'Action classes ≥ this are low priority: rejected above the high-water mark (an action left at the default class 5 is not); 10 = none',
  }),
  LOG_LEVEL: T.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  TRACE_CLIENT_CONTEXT: T.Union([T.Literal('link'), T.Literal('continue')], {
    default: 'link',
    description:
      "A client's traceparent (upgrade header or hello): link = new trace, sampled by us, linked to it; continue = join it and its sampling (trusted clients only)",
  }),
  INSPECT: T.String({
    default: 'off',
    pattern: '^(off|pool|all|sample:[1-9][0-9]*|users:[^,]+(,[^,]+)*)$',
    examples: ['sample:100'],
    description:
      'Live Stately inspection: off, pool, all, sample:N (pool + 1 connection in N), users:ID,ID (pool + those users)',
  }),
  WS_COMPRESSION: T.Union([T.Literal('off'), T.Literal('shared'), T.Literal('dedicated')], {
    default: 'off',
    description:
      'permessage-deflate (RFC 7692) for clients that offer it: off; shared = one compressor for all sockets, no context kept between messages (no memory per socket); dedicated = a compressor per socket keeping WS_COMPRESSION_WINDOW_KB of context (better ratio on repetitive JSON, memory per socket). On: SSE streams are gzipped for clients that accept it, flushed per message (dedicated: against the stream’s last WS_COMPRESSION_WINDOW_KB of text)',
  }),
  WS_COMPRESSION_THRESHOLD_BYTES: T.Integer({
    default: 256,
    minimum: 0,
    // The largest MAX_MESSAGE_BYTES: above it, nothing would ever be compressed.
    maximum: 16_777_216,
    unit: 'bytes',
    description:
      'Frames shorter than this (characters of JSON; SSE: bytes of the message) are sent uncompressed when WS_COMPRESSION is on',
  }),
  WS_COMPRESSION_WINDOW_KB: T.Integer({
    default: 4,
    enum: [4, 8, 16, 32],
    unit: 'KiB',
    description:
      'Sliding window (KiB) of a dedicated compressor (WS_COMPRESSION=dedicated); each socket then holds about 8× this for deflate state',
  }),
  INSPECT_PORT: T.Integer({
    default: 4242,
    minimum: 1,
    maximum: 65535,
    description: 'Port of the inspector bridge page when INSPECT is not off (127.0.0.1 only)',
  }),
  REUSE_PORT: T.Boolean({
    default: false,
    description:
      'Share PORT with other processes (SO_REUSEPORT), for one process per core; false = a port in use refuses start-up. ws edge: Node ≥ 22.12',
  }),
  REDIS_DATA_DIR: T.String({
    default: '.tether/redis',
    minLength: 1,
    description:
      'Where the private redis-server (REDIS_URL unset or `embedded`) keeps its append-only file, so a restart loses nothing; relative to the working directory',
  }),
  ALLOWED_ORIGINS: T.String({
    default: '',
    pattern: '^(\\*|https?://[^/,\\s]+(,\\s*https?://[^/,\\s]+)*)?$',
    examples: ['https://app.example.com,http://localhost:5173'],
    description:
      'Comma-separated origins (scheme://host[:port]) whose browsers may open a WebSocket or an SSE stream (CORS: the origin is echoed); another Origin gets 403 ORIGIN_NOT_ALLOWED; empty = any (warned in production); no Origin header (not a browser) is let through',
  }),
  REDIS_PUBSUB: T.Optional(
    T.Union([T.Literal('sharded'), T.Literal('classic')], {
      description:
        "How channel events are announced: sharded = SPUBLISH/SSUBSCRIBE on the stream's own shard, classic = PUBLISH (copied to every cluster node); default sharded on a cluster, else classic",
    }),
  ),
  PUBLISH_ACK_REPLICAS: T.Integer({
    default: 0,
    minimum: 0,
    maximum: 16,
    description:
      'Replicas that must confirm an event (WAIT) before it is acked; short of them the publish fails with STORE_UNAVAILABLE (docs/scaling.md)',
  }),
  PUBLISH_ACK_TIMEOUT_MS: Ms(500, 'How long a publish waits for PUBLISH_ACK_REPLICAS', 1),
});

export type Env = Static<typeof EnvSchema>;
