/**
 * `socketio` and `socketio-redis-streams`: Socket.IO 4.8 with connection state
 * recovery on (the peer whose feature set — rooms, resume after a drop — is
 * closest to Tether's).
 *   emit('e', payload)        → emitted back ('e', payload)     (relay)
 *   emit('s', channel, ack)   → joins the room, then acks
 *   emit('p', channel, data)  → io.to(channel).emit('m', data)
 * With REDIS_URL set this is `socketio-redis-streams`, the durable peer users would
 * pick: @socket.io/redis-streams-adapter over that Redis, so every broadcast is
 * XADDed to a stream before it is delivered, and recovery reads missed packets back
 * from it. The relay then goes through the adapter too (a broadcast to the sender's
 * own room), so each relayed message is made durable like Tether's; in memory, it
 * is a plain emit.
 * Run as a child process by bench/systems/peers.ts; prints READY when listening.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const redisUrl = process.env.REDIS_URL;
const http = createServer();
const io = new Server(http, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
  connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true },
  ...(redisUrl ? { adapter: createAdapter(new Redis(redisUrl)) } : {}),
});

io.on('connection', (socket) => {
  if (redisUrl) socket.on('e', (payload: string) => io.to(socket.id).emit('e', payload));
  else socket.on('e', (payload: string) => socket.emit('e', payload));
  socket.on('s', (channel: string, ack?: () => void) => {
    void socket.join(channel);
    if (typeof ack === 'function') ack();
  });
  socket.on('p', (channel: string, data: string) => io.to(channel).emit('m', data));
});

http.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
http.on('error', (error) => {
  process.stderr.write(`socketio: ${error.message}\n`);
  process.exit(1);
});
