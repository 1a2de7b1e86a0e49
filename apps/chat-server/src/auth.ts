import { randomUUID } from 'node:crypto';
import { describeIssues, handshakeAuthSchema } from '@chat/protocol';
import type { ChatSocket } from './types.js';

/** Handshake middleware: a valid `auth.name` or a connect_error saying why. */
export function authenticate(socket: ChatSocket, next: (error?: Error) => void): void {
  const result = handshakeAuthSchema.safeParse(socket.handshake.auth);
  if (!result.success) {
    next(new Error(`invalid handshake: ${describeIssues(result.error)}`));
    return;
  }
  socket.data.user = { id: randomUUID(), name: result.data.name };
  next();
}
