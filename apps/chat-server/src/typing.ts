import { limits } from '@chat/protocol';
import type { ChatSocket } from './types.js';

/**
 * Typing indicators of one socket. Each `typing: true` re-arms a timer; if the client goes quiet
 * (or vanishes) the indicator is turned off for the room after limits.typingTtlMs.
 */
export class TypingState {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly socket: ChatSocket) {}

  set(room: string, typing: boolean): void {
    clearTimeout(this.timers.get(room));
    this.timers.delete(room);
    if (typing) this.timers.set(room, setTimeout(() => this.set(room, false), limits.typingTtlMs).unref());
    this.socket.to(room).emit('typing:update', { room, user: this.socket.data.user, typing });
  }

  /** Turns off the indicator in `room`, if it is on. */
  stop(room: string): void {
    if (this.timers.has(room)) this.set(room, false);
  }

  stopAll(): void {
    for (const room of [...this.timers.keys()]) this.set(room, false);
  }
}
