import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { authenticate } from './auth.js';
import type { Config } from './config.js';
import { registerHandlers } from './handlers.js';
import { createAdmission } from './admission.js';
import { createMetrics } from './metrics.js';
import { reportOversize } from './oversize.js';
import { httpRoutes } from './routes.js';
import { History } from './history.js';
import { Presence } from './presence.js';
import { Rooms } from './rooms.js';
import type { Logger } from './logger.js';
import { createRedisClients, quitAll } from './redis.js';
import type { ChatServer } from './types.js';

export interface RunningChatServer {
  io: ChatServer;
  address: AddressInfo;
  close(): Promise<void>;
}

/** One chat server instance: HTTP (/healthz) and Socket.IO on one port, rooms shared through Redis. */
export async function startChatServer(config: Config, logger: Logger): Promise<RunningChatServer> {
  const instance = config.INSTANCE_ID;
  const redis = createRedisClients(config.REDIS_URL, logger);
  const history = new History(redis.data, {
    maxPerRoom: config.HISTORY_MAX_PER_ROOM,
    ratePerSecond: config.RATE_LIMIT_PER_SECOND,
    burst: config.RATE_LIMIT_BURST,
  });

  const metrics = createMetrics(instance);

  const httpServer = http.createServer();
  // Registered before Socket.IO attaches: it keeps /socket.io/ and hands us every other request.
  const routes = httpRoutes(redis.data, instance, metrics);
  httpServer.on('request', (req, res) => {
    routes(req, res).catch(() => res.writeHead(500).end());
  });

  const io: ChatServer = new Server(httpServer, {
    path: '/socket.io/',
    // Chat payloads are small (2,000 characters of text at most); a larger packet drops the
    // connection (see oversize.ts).
    maxHttpBufferSize: config.MAX_HTTP_BUFFER_SIZE,
    adapter: createAdapter(redis.pub, redis.sub),
  });

  // Engine session ids name their instance (`chat-2.<120 random bits>`), so a front door can send
  // every polling request of a session to the instance that holds it (see infra/nginx.conf).
  io.engine.generateId = () => `${instance}.${randomBytes(15).toString('base64url')}`;
  io.engine.on('connection_error', (error: { message: string }) => metrics.engineErrors.inc({ reason: error.message }));
  reportOversize(io, config, metrics, logger);

  const presence = new Presence(redis.data, io, instance, logger);
  const rooms = new Rooms(redis.data, history, presence);
  presence.start();

  io.use(authenticate);
  io.use(createAdmission(config, metrics));
  io.on('connection', (socket) => {
    metrics.connections.inc();
    socket.once('disconnect', () => metrics.connections.dec());
    socket.emit('session', { instance, user: socket.data.user });
    registerHandlers(socket, { io, history, presence, rooms, instance, logger, metrics });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  logger.info({ address: `${address.address}:${address.port}` }, 'chat server listening');

  return {
    io,
    address,
    close: async () => {
      presence.stop();
      // Stop accepting first: the front door's next pick here fails fast and moves on.
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await presence.removeLocal().catch((error: Error) => logger.warn({ err: error.message }, 'presence cleanup failed'));
      // Drop each client's transport rather than disconnecting it server-side: Socket.IO clients
      // do not retry a server-side disconnect, but they do reconnect after a transport close,
      // through the front door, to another instance.
      for (const socket of io.of('/').sockets.values()) socket.conn.close();
      httpServer.closeIdleConnections();
      await stopped;
      io.close();
      await quitAll(redis);
    },
  };
}
