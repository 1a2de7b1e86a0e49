import { io } from 'socket.io-client';
import { compareMessageIds, type Message } from '@chat/protocol';
import type { ChatClient } from '@chat/devstack';

const PAGE = 100;

/**
 * A chat member that behaves like the web client where delivery is concerned: it reconnects by
 * itself (through the front door, to whichever instance), rejoins its rooms, and catches up with
 * `history:fetch { after }`, merging by id. `seen` is what its user would see.
 */
export class Member {
  readonly socket: ChatClient;
  readonly seen = new Map<string, Map<string, Message>>();
  readonly acked: Message[] = [];
  instance = '';
  connects = 0;
  connectErrors = 0;
  disconnectedAt: number | null = null;
  readonly reconnectMs: number[] = [];
  private catchingUp = Promise.resolve();

  constructor(
    url: string,
    readonly name: string,
    readonly rooms: string[],
    transports: string[] = ['websocket'],
  ) {
    this.socket = io(url, { transports, forceNew: true, auth: { name, userId: `member-${name}` } });
    for (const room of rooms) this.seen.set(room, new Map());
    this.socket.on('session', ({ instance }) => {
      this.instance = instance;
      this.connects++;
      if (this.disconnectedAt !== null) this.reconnectMs.push(Date.now() - this.disconnectedAt);
      this.disconnectedAt = null;
      this.catchingUp = this.rejoin();
    });
    this.socket.on('disconnect', () => {
      this.disconnectedAt ??= Date.now();
    });
    this.socket.on('connect_error', () => this.connectErrors++);
    this.socket.on('message:new', (message) => this.merge([message]));
  }

  /** Resolves once connected and caught up (again). */
  async ready(): Promise<void> {
    while (!this.socket.connected || this.connects === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.catchingUp;
  }

  async send(room: string, text: string): Promise<'ok' | string> {
    if (!this.socket.connected) return 'offline';
    try {
      const ack = await this.socket.timeout(5_000).emitWithAck('message:send', { room, text });
      if (!ack.ok) return ack.error.code;
      this.acked.push(ack.message);
      this.merge([ack.message]);
      return 'ok';
    } catch {
      return 'timeout';
    }
  }

  /** Whether this member has seen every message in `messages` of rooms it is in. */
  missing(messages: Message[]): Message[] {
    return messages.filter((m) => this.seen.get(m.room) && !this.seen.get(m.room)!.has(m.id));
  }

  close(): void {
    this.socket.close();
  }

  private async rejoin(): Promise<void> {
    for (const room of this.rooms) {
      const newest = this.newestId(room);
      const joined = await this.socket.timeout(10_000).emitWithAck('room:join', { room }).catch(() => null);
      if (!joined?.ok) continue;
      this.merge(joined.messages);
      // The join returns the latest 50: fetch everything after what we had, page by page.
      let after = newest;
      while (after) {
        const page = await this.socket.timeout(10_000).emitWithAck('history:fetch', { room, after, limit: PAGE }).catch(() => null);
        if (!page?.ok) break;
        this.merge(page.messages);
        after = page.messages.length === PAGE ? page.messages.at(-1)!.id : null;
      }
    }
  }

  private newestId(room: string): string | null {
    let newest: string | null = null;
    for (const id of this.seen.get(room)?.keys() ?? []) if (!newest || compareMessageIds(id, newest) > 0) newest = id;
    return newest;
  }

  private merge(messages: Message[]): void {
    for (const message of messages) this.seen.get(message.room)?.set(message.id, message);
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
