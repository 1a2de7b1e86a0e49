import type { Message, User } from '@chat/protocol';
import type { PendingMessage } from './chatState';

/** Consecutive messages of one author less than this far apart share one header. */
export const GROUP_WINDOW_MS = 5 * 60_000;

export type DeliveryStatus = 'sent' | 'pending' | 'failed';

export interface TimelineMessage {
  kind: 'message';
  /** Stable across pending -> sent, so focus and scroll survive the swap. */
  key: string;
  /** The message id once stored; null while pending or failed. */
  id: string | null;
  author: User;
  text: string;
  ts: number;
  own: boolean;
  status: DeliveryStatus;
  pending?: PendingMessage;
  /** First message of a group: shows the author and time. */
  startsGroup: boolean;
  /** The last own message that reached the server: it carries the "Sent" mark. */
  lastSent: boolean;
}

export interface TimelineDay {
  kind: 'day';
  key: string;
  /** Any time in that (local) day. */
  ts: number;
}

export type TimelineEntry = TimelineMessage | TimelineDay;

function dayKey(ts: number): string {
  const date = new Date(ts);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/**
 * What the message list shows: stored messages, then the user's own pending and failed ones, with
 * a divider at each new day and consecutive messages of one author grouped.
 */
export function buildTimeline(
  messages: readonly Message[],
  pending: readonly PendingMessage[],
  self: User | null,
): TimelineEntry[] {
  const selfId = self?.id ?? null;
  const items: Omit<TimelineMessage, 'startsGroup' | 'lastSent'>[] = [
    ...messages.map((message) => ({
      kind: 'message' as const,
      key: message.id,
      id: message.id,
      author: message.author,
      text: message.text,
      ts: message.ts,
      own: message.author.id === selfId,
      status: 'sent' as const,
    })),
    ...pending.map((message) => ({
      kind: 'message' as const,
      key: `pending:${message.clientId}`,
      id: null,
      author: self ?? { id: '', name: 'You' },
      text: message.text,
      ts: message.ts,
      own: true,
      status: message.status,
      pending: message,
    })),
  ];

  let lastSentIndex = -1;
  items.forEach((item, index) => {
    if (item.own && item.status === 'sent') lastSentIndex = index;
  });

  const timeline: TimelineEntry[] = [];
  let previous: (typeof items)[number] | null = null;
  items.forEach((item, index) => {
    const day = dayKey(item.ts);
    const newDay = !previous || dayKey(previous.ts) !== day;
    if (newDay) timeline.push({ kind: 'day', key: `day:${day}`, ts: item.ts });
    const startsGroup = newDay || previous!.author.id !== item.author.id || item.ts - previous!.ts > GROUP_WINDOW_MS;
    timeline.push({ ...item, startsGroup, lastSent: index === lastSentIndex });
    previous = item;
  });
  return timeline;
}
