import { randomUUID } from 'node:crypto';
import { describeIssues, handshakeAuthSchema } from '@chat/protocol';
import type { ChatSocket } from './types.js';

/**
 * Handshake middleware: a valid `auth.name` or a connect_error saying why. A client may bring a
 * stable `userId` (kept in its storage) to stay the same user across reconnects and tabs; this is
 * identity for a demo, not authentication: put a real login in front before trusting it.
 */
export function authenticate(socket: ChatSocket, next: (error?: Error) => void): void {
  const result = handshakeAuthSchema.safeParse(socket.handshake.auth);
  if (!result.success) {
    next(new Error(`invalid handshake: ${describeIssues(result.error)}`));
    return;
  }
  socket.data.user = { id: result.data.userId ?? randomUUID(), name: result.data.name };
  next();
}
