/**
 * The `ws` WebSocket, counting the sockets an SDK client opens: a reconnect, or a retry
 * storm, shows up in `counter.opened`.
 */
import WebSocket from 'ws';

export function countingWebSocket() {
  const counter = { opened: 0 };
  class Counted extends WebSocket {
    constructor(url: string) {
      super(url);
      counter.opened++;
    }
  }
  return { counter, Counted };
}
