/**
 * The minimal text protocol the bare peers (`uws-raw`, `ws`) speak, so they do the
 * least work a server can do for each scenario — the floor Tether is compared to:
 *   `E<payload>`        echoed back unchanged (relay)
 *   `S<channel>`        subscribe; answered `A<channel>`
 *   `P<channel> <data>` publish; every subscriber of the channel gets `M<data>`
 */
export const RAW = { echo: 'E', subscribe: 'S', subscribed: 'A', publish: 'P', message: 'M' } as const;

export const RAW_CODE = {
  echo: RAW.echo.charCodeAt(0),
  subscribe: RAW.subscribe.charCodeAt(0),
  publish: RAW.publish.charCodeAt(0),
} as const;

/** Split `P<channel> <data>` into its channel and the frame subscribers receive. */
export function parsePublish(text: string): { channel: string; frame: string } {
  const space = text.indexOf(' ');
  return { channel: text.slice(1, space), frame: RAW.message + text.slice(space + 1) };
}
