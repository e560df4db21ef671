/**
 * `ws`: a plain `ws` server — echo, and publish by looping over a channel's
 * sockets (ws has no native broadcast; this is what ws users write).
 * Run as a child process by bench/systems/peers.ts; prints READY when listening.
 */
import { type WebSocket, WebSocketServer } from 'ws';
import { parsePublish, RAW, RAW_CODE } from './raw-protocol.ts';

const port = Number(process.env.PORT);
const channels = new Map<string, Set<WebSocket>>();
const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 64 * 1024,
});

server.on('connection', (ws) => {
  const joined: string[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    const kind = data[0];
    if (kind === RAW_CODE.echo) {
      ws.send(data, { binary: isBinary });
    } else if (kind === RAW_CODE.subscribe) {
      const channel = data.toString('utf8', 1);
      let members = channels.get(channel);
      if (!members) {
        members = new Set();
        channels.set(channel, members);
      }
      members.add(ws);
      joined.push(channel);
      ws.send(RAW.subscribed + channel);
    } else if (kind === RAW_CODE.publish) {
      const { channel, frame } = parsePublish(data.toString('utf8'));
      const bytes = Buffer.from(frame); // encode once, not once per subscriber
      for (const member of channels.get(channel) ?? []) member.send(bytes, { binary: false });
    }
  });
  ws.on('close', () => {
    for (const channel of joined) channels.get(channel)?.delete(ws);
  });
});

server.on('listening', () => process.stdout.write('READY\n'));
server.on('error', (error) => {
  process.stderr.write(`ws: ${error.message}\n`);
  process.exit(1);
});
