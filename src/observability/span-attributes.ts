/**
 * Attribute names on Tether's spans. OpenTelemetry semantic conventions where one
 * exists; the `tether.*` namespace (documented in docs/observability.md) for the rest.
 *
 * Stable conventions come from @opentelemetry/semantic-conventions. Incubating ones
 * (`enduser.*`, `messaging.*`) are copied here as the package asks, because its
 * `/incubating` entry point may rename them in a minor release.
 */
export {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';

/** Incubating: the authenticated user (token `sub`). */
export const ATTR_ENDUSER_ID = 'enduser.id';
/** Incubating messaging conventions, for channel events and action jobs. */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';

/** The logical connection's correlation ID: on every span, log line, error frame and job. */
export const ATTR_CORRELATION_ID = 'tether.correlation_id';
/** One socket (a session may see several over its life). */
export const ATTR_CONNECTION_ID = 'tether.connection_id';
export const ATTR_SESSION_ID = 'tether.session_id';
/** Token tier, which decides admission and action priority. */
export const ATTR_TIER = 'tether.tier';
/** Whether hello re-attached an existing session. */
export const ATTR_RESUMED = 'tether.resumed';
/** Events sent from the log on resume or subscribe-with-`from`. */
export const ATTR_REPLAYED = 'tether.replayed';
/** false when some of the events a client asked for had been trimmed away. */
export const ATTR_RECOVERED = 'tether.recovered';
/** How a resume ended: resumed | expired | rejected. */
export const ATTR_RESUME_RESULT = 'tether.resume.result';
/** granted | queued | refused | left. */
export const ATTR_ADMISSION_RESULT = 'tether.admission.result';
export const ATTR_ADMISSION_PRIORITY = 'tether.admission.priority';
/** ms spent waiting in the admission queue. */
export const ATTR_ADMISSION_WAIT_MS = 'tether.admission.wait_ms';
/** A registry error code (docs/errors.md). */
export const ATTR_ERROR_CODE = 'tether.error.code';
export const ATTR_ERROR_CATEGORY = 'tether.error.category';
/** WebSocket close code (RFC 6455 §7.4) and the registry code or reason behind it. */
export const ATTR_CLOSE_CODE = 'tether.close.code';
export const ATTR_CLOSE_REASON = 'tether.close.reason';
/** The client's `ref` for an action, echoed on its reply. */
export const ATTR_ACTION_REF = 'tether.action.ref';
export const ATTR_ACTION_NAME = 'tether.action.name';
/** ms from an event's append (its `ts`) to its local delivery. */
export const ATTR_DELIVERY_LAG_MS = 'tether.delivery.lag_ms';
/** Local sockets subscribed to the channel when the event was fanned out. */
export const ATTR_SUBSCRIBERS = 'tether.subscribers';
/** Actor state before and after a transition (span events). */
export const ATTR_STATE_FROM = 'tether.state.from';
export const ATTR_STATE_TO = 'tether.state.to';
/** The pool's counters at a pool transition: admitted sockets, queued waiters, pressure (normal | high | critical). */
export const ATTR_POOL_ACTIVE = 'tether.pool.active';
export const ATTR_POOL_WAITING = 'tether.pool.waiting';
export const ATTR_POOL_PRESSURE = 'tether.pool.pressure';
