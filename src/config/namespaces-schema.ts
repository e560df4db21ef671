/**
 * The configuration file named by CONFIG_FILE (JSON): per-namespace channel options.
 * Every option, its unit and its default live here; README.md's table of them is
 * generated from these descriptions (`npm run docs:config`).
 *
 * ```json
 * { "defaults": { "historyMaxEvents": 5000 },
 *   "namespaces": { "room": { "presence": true, "joinLeave": true }, "feed": { "publish": "backend" } } }
 * ```
 */
import { type Static, Type as T } from '@sinclair/typebox';
import { COUNT_MAX } from './config-schema.ts';

/** A namespace: a channel name up to its first `:` (so without one). */
export const NAMESPACE_PATTERN = '^[A-Za-z0-9_.\\-]{1,128}$';

export const NamespaceOptionsSchema = T.Object(
  {
    historyMaxEvents: T.Optional(
      T.Integer({
        minimum: 1,
        maximum: COUNT_MAX,
        description:
          'Events kept per channel (approximate: trimmed on append by whole stream nodes, so a few more may stay). Default: `CHANNEL_RETENTION`',
      }),
    ),
    historyMaxAgeMs: T.Optional(
      T.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        default: 0,
        description:
          'Events older than this are trimmed on the next append, by whole stream nodes (at most stream-node-max-entries, 100, or -bytes, 4 KB, of Redis): an old event stays while a newer one shares its node, so on a quiet channel it can outlive this by as long as the node takes to fill, ms; 0 = kept until historyMaxEvents pushes them out',
      }),
    ),
    presence: T.Optional(
      T.Boolean({ default: false, description: 'Who is subscribed is tracked and can be asked' }),
    ),
    joinLeave: T.Optional(
      T.Boolean({ default: false, description: 'Subscribers hear joins and leaves (needs `presence`)' }),
    ),
    publish: T.Optional(
      T.Union([T.Literal('clients'), T.Literal('backend')], {
        default: 'clients',
        description:
          'Who may publish: `clients` whose token `publish` claim allows the channel (and the backend), or only the `backend` (POST /publish)',
      }),
    ),
    replay: T.Optional(
      T.Boolean({
        default: true,
        description:
          'Clients may read past events: `subscribe` with `from`, resumed positions and `history` frames. false: positions are not replayed (`recovered: false`, live from now) and `history` frames get REPLAY_DISABLED',
      }),
    ),
    ephemeral: T.Optional(
      T.Boolean({
        default: false,
        description:
          'Events are live only (typing indicators, cursors): not written to the log, never replayed or in history, and for a subscriber whose socket is backed up, merged (only the newest per channel is kept, sent when it drains) instead of closing it as a slow consumer. Acks carry no ID (`ephemeral: true`); docs/protocol.md, "Ephemeral channels"',
      }),
    ),
    batch: T.Optional(
      T.Boolean({
        default: false,
        description:
          'Live events of these channels reach each socket coalesced per event-loop turn into `batch` frames (a client may also ask for it in hello, for every channel); docs/protocol.md, "Batched delivery"',
      }),
    ),
    maxSubscribers: T.Optional(
      T.Integer({
        minimum: 0,
        default: 0,
        description:
          'Subscribers a channel may have across every gateway process; one more gets CHANNEL_FULL; 0 = no cap',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ConfigFileSchema = T.Object(
  {
    /** Options for channels outside every namespace listed here; unset ones come from the environment. */
    defaults: T.Optional(NamespaceOptionsSchema),
    namespaces: T.Optional(
      T.Record(T.String({ pattern: NAMESPACE_PATTERN }), NamespaceOptionsSchema, {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);

export type NamespaceOptions = Static<typeof NamespaceOptionsSchema>;
export type ConfigFile = Static<typeof ConfigFileSchema>;
