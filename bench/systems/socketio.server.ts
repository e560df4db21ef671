/**
 * `socketio`: Socket.IO 4.8 with connection state recovery on (the peer whose
 * feature set — rooms, resume after a drop — is closest to Tether's).
 *   emit('e', payload)        → emitted back ('e', payload)     (relay)
 *   emit('s', channel, ack)   → joins the room, then acks
 *   emit('p', channel, data)  → io.to(channel).emit('m', data)
 * Run as a child process by bench/systems/peers.ts; prints READY when listening.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const http = createServer();
const io = new Server(http, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
  connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true },
});

io.on('connection', (socket) => {
  socket.on('e', (payload: string) => socket.emit('e', payload));
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
