/**
 * Every command a Redis server runs from now on, as MONITOR shows it, read over a plain
 * socket. ioredis's `monitor()` marks its connection "monitoring" a microtask after
 * MONITOR's +OK: a command another client runs right then arrives in the same chunk,
 * finds an empty command queue and fails the test with "Command queue state error"
 * (seen in CI, input-hardening; admission-queue once).
 */
import { once } from 'node:events';
import { connect } from 'node:net';

export interface RedisMonitor {
  close(): void;
}

/** Resolves once Redis confirmed MONITOR: every command after that reaches `onCommand`. */
export async function monitorRedis(
  redisUrl: string,
  onCommand: (args: string[]) => void,
): Promise<RedisMonitor> {
  const { hostname, port, password } = new URL(redisUrl);
  const socket = connect(Number(port || 6379), hostname);
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  if (password) socket.write(`AUTH ${decodeURIComponent(password)}\r\n`);
  socket.write('MONITOR\r\n');
  let buffer = '';
  let monitoring = false;
  let oks = 0; // AUTH's +OK comes first when there is one; then MONITOR's
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!monitoring) {
          if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line}`));
          else if (line === '+OK' && ++oks === (password ? 2 : 1)) {
            monitoring = true;
            resolve();
          }
          continue;
        }
        const args = commandOf(line);
        if (args) onCommand(args);
      }
    });
  });
  socket.on('error', () => {}); // a gateway test ending may close Redis first
  return { close: () => socket.destroy() };
}

/** `+1796469604.921578 [0 127.0.0.1:37022] "client" "setname" "x"` → ['client', 'setname', 'x']. */
function commandOf(line: string): string[] | undefined {
  const first = line.indexOf('"');
  if (!line.startsWith('+') || first < 0) return undefined;
  return line
    .slice(first + 1, -1)
    .split('" "')
    .map((arg) => arg.replace(/\\"/g, '"').replace(/\\\\/g, '\\'));
}
