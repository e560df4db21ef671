/**
 * What the report says about each scenario: its order, a line on what it
 * measures, which metrics its chart shows, and which way each metric is better.
 */
export interface ScenarioInfo {
  name: string;
  measures: string;
  /** Metrics drawn in the scenario's SVG (every metric of the run matching one of these). */
  chart: RegExp[];
}

export const SCENARIOS: ScenarioInfo[] = [
  {
    name: 'relay',
    measures:
      'Each client sends 64 B messages that come back to it (Tether: published to a channel only the sender subscribes to, so through Redis). Server CPU per message at a fixed offered load; messages per second at saturation (closed loop).',
    chart: [/^cpu_us_per_msg$/, /^msgs_per_s$/],
  },
  {
    name: 'latency',
    measures:
      'Send → the same message back (open loop): at 50% of each system’s own measured saturation, and at a fixed 5,000 msg/s for all (`…_fixed_load`).',
    chart: [/^p50_ms$/, /^p99_ms$/, /^p99_ms_fixed_load$/],
  },
  {
    name: 'fanout',
    measures:
      'One publisher, one channel, N subscribers: deliveries per second (first publish → last delivery) and server CPU per delivery.',
    chart: [/^deliveries_per_s_/, /^cpu_us_per_delivery_\d+k$/],
  },
  {
    name: 'idle-memory',
    measures:
      'Server memory per idle connection: RSS after a full GC (young generation excluded), with N connections minus before any, ÷ N.',
    chart: [/^rss_bytes_per_conn_/],
  },
  {
    name: 'connect-cost',
    measures:
      'Server CPU per new connection (Tether: JWT, actor, Redis session) with 1K and with the most connections already held, after 3,000 opened and closed to warm the process up: flat = no per-connection cost that grows with the count. `cold` = the first 1,000 of those 3,000 (not a target).',
    chart: [/^cpu_us_per_connect_at_/],
  },
  {
    name: 'reconnect-storm',
    measures:
      'Tether restarted under its connected clients: time until every client resumed its session (SDK full-jitter backoff), events lost (must be 0), peak reconnects per second.',
    chart: [/^seconds_to_all_resumed$/, /^peak_connects_per_s$/, /^lost_events$/],
  },
  {
    name: 'reconnect-storm-rolling',
    measures:
      'The same storm under a rolling restart: new gateway processes start on the same port (REUSE_PORT) before the old ones get SIGTERM, so no client meets a closed port. Time from the SIGTERM until every client resumed, events lost (must be 0).',
    chart: [/^seconds_to_all_resumed$/, /^peak_connects_per_s$/, /^lost_events$/],
  },
  {
    name: 'admission',
    measures:
      'Server CPU per admitted connection with room in the pool (direct) and with the pool full, newcomers waiting in the BullMQ queue as holders leave (queued); Redis commands per admission, and commands that touched the admission queue (0 when direct).',
    chart: [/^cpu_us_per_admit_/],
  },
  {
    name: 'presence',
    measures:
      'Tether only, one channel of 1K and of 10K members, every member joining (then leaving) at once: gateway CPU per join and per leave without presence, with presence, and with presence and coalesced join/leave events (the frames they send included), idle cost taken off; a presence query over HTTP (first page of 100, a page from the middle, the count alone); CPU per delivery of a publish on a channel with presence and events and on one without, same subscribers.',
    chart: [/^cpu_us_per_join_presence_(off|on|and_events)_\d+k$/, /^presence_(page|count)_ms_p50_/],
  },
  {
    name: 'scale',
    measures:
      'Connections held by several Tether gateway processes sharing one port and one Redis, and memory per connection at that count.',
    chart: [/^connections_held$/, /^rss_bytes_per_conn$/],
  },
  {
    name: 'idempotency',
    measures:
      'Tether only, when named: the relay at a fixed 2,000 msg/s by two client groups taking turns on one gateway, one publishing plainly, one giving every publish a fresh idempotencyKey. Gateway and Redis CPU per message for each, and keyed ÷ plain.',
    chart: [/^cpu_us_per_msg_(plain|keyed)(_with_redis)?$/],
  },
  {
    name: 'wire',
    measures:
      'Tether only, when named: chat-like JSON events (about 250 B of data) fanned out to subscribers, on a fresh gateway per variant — `plain` (one event per frame, uncompressed), `shared` and `dedicated` (WS_COMPRESSION; WebSocket clients offer permessage-deflate, SSE clients accept gzip), `batched` (hello `batch: true`). Deliveries per second, gateway CPU per delivery, bytes the subscribers read off the wire per delivery, and the clients’ CPU per delivery (inflating and parsing).',
    chart: [/^wire_bytes_per_delivery_/, /^cpu_us_per_delivery_(plain|shared|dedicated|batched)$/],
  },
  {
    name: 'redis-topologies',
    measures:
      'Tether only, when named: one Redis beside a 3-master Redis Cluster with sharded and with classic announcements, G gateways × C channels each read by every gateway, a backend publishing over HTTP. Events/s, Redis CPU per event (less its idle CPU) in all and per master, cluster-bus messages per event.',
    chart: [/^redis_us_per_event_per_master_/],
  },
];

/** Metrics where more is better; every other metric is a cost (CPU, memory, time, losses). */
const HIGHER_IS_BETTER = [/per_s/, /^connections_held$/, /^resumed_clients$/];
/** Context figures, not scores: no direction shown. */
const NEUTRAL = [
  /^generator_/,
  /_pct/,
  /^offered_/,
  /^fixed_load_/,
  /^clients$/,
  /^events_published$/,
  /^gateways$/,
];

export function direction(metric: string): '↑' | '↓' | '' {
  if (NEUTRAL.some((re) => re.test(metric))) return '';
  return HIGHER_IS_BETTER.some((re) => re.test(metric)) ? '↑' : '↓';
}
