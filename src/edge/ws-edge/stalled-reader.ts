/**
 * uWS cuts an HTTP connection whose client takes nothing of what it was sent for its 10 s
 * idle timeout (armed by a write the socket could not take at once): a response ended or
 * still streaming, the `onAborted` handlers run for the latter. A client reading slowly is
 * kept. Measured on uWS 20.30: a client that stops reading is cut 10–14 s later; one reading
 * 256 KB/s of a 12 MiB response is not (test/edge/edge-streaming.test.ts). node:http keeps a
 * response its client does not read — its socket and every byte not taken — for as long as
 * the client keeps the connection open: an SSE stream closed as a slow consumer after a burst
 * would hold up to 4 × MAX_BACKPRESSURE_BYTES for good, its connection slot already given back.
 */
import type { Socket } from 'node:net';

/** How often a watched socket is looked at: a stalled one is cut at most this long past the timeout. */
const CHECK_MS = 2_500;

const watched = new WeakSet<Socket>();

/**
 * Watch `socket`, which holds bytes its peer has not taken, until they all left: cut it once
 * nothing left for `timeoutMs`.
 */
export function cutWhenStalled(socket: Socket, timeoutMs: number): void {
  if (socket.destroyed || watched.has(socket)) return;
  watched.add(socket);
  let progress = progressOf(socket);
  let movedAt = Date.now();
  const check = setInterval(() => {
    const now = progressOf(socket);
    if (now.completed > progress.completed || now.queued < progress.queued) movedAt = Date.now();
    else if (Date.now() - movedAt >= timeoutMs) socket.destroy();
    progress = now;
  }, CHECK_MS);
  check.unref();
  const stop = () => {
    clearInterval(check);
    watched.delete(socket);
    socket.off('drain', stop);
    socket.off('close', stop);
  };
  socket.on('drain', stop);
  socket.on('close', stop);
}

/**
 * What shows the peer taking bytes: `completed`, the bytes of writes that finished (public
 * API: it grows only when one does), and `queued`, what the write under way still has to hand
 * the kernel (libuv's queue, internal to Node), which shrinks as the peer reads part of one
 * large write — a single 12 MiB answer finishes only when its last byte left.
 */
function progressOf(socket: Socket): { completed: number; queued: number } {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } })._handle;
  return { completed: socket.bytesWritten - socket.writableLength, queued: handle?.writeQueueSize ?? 0 };
}
