import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from './admission.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { ChatServer, ChatSocket } from './types.js';

type EngineSocket = ChatSocket['conn'];

/**
 * Names the cause when a client is dropped for a packet over MAX_HTTP_BUFFER_SIZE. Engine.IO
 * refuses such a packet by itself, and the client sees its transport fail: ws closes the
 * WebSocket with 1009 (Message Too Big); a long-polling POST is answered 413, and the client
 * closes the session on that error. Here the server logs a warning naming the client's address
 * and counts it in chat_oversize_disconnects_total.
 */
export function reportOversize(io: ChatServer, config: Config, metrics: Metrics, logger: Logger): void {
  const report = (transport: 'websocket' | 'polling', request: { address: string; headers: IncomingHttpHeaders }) => {
    metrics.oversize.inc({ transport });
    logger.warn(
      { address: clientAddress(request, config.TRUSTED_PROXIES), transport, limit: config.MAX_HTTP_BUFFER_SIZE },
      'packet over MAX_HTTP_BUFFER_SIZE: connection dropped',
    );
  };

  // ws refuses the frame with the RangeError "Max payload size exceeded" (and the close code);
  // Engine.IO passes it on as the description of a "transport error".
  io.engine.on('connection', (conn: EngineSocket) => {
    conn.once('close', (reason: string, description?: unknown) => {
      if (reason === 'transport error' && description instanceof Error && description.message.includes('Max payload size exceeded')) {
        report('websocket', { address: conn.remoteAddress, headers: conn.request.headers });
      }
    });
  });

  // Engine.IO answers an oversized POST with a bare 413 and no event: watch the responses.
  io.engine.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    res.once('finish', () => {
      if (res.statusCode === 413) report('polling', { address: req.socket.remoteAddress ?? '', headers: req.headers });
    });
    next();
  });
}
