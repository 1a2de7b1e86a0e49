import { describe, expect, it } from 'vitest';
import type { PendingMessage } from '../lib/chatState';
import { buildTimeline, GROUP_WINDOW_MS, type TimelineEntry, type TimelineMessage } from '../lib/timeline';
import { ada, bob, msg } from './fixtures';

const messagesOf = (timeline: TimelineEntry[]) => timeline.filter((entry): entry is TimelineMessage => entry.kind === 'message');

describe('buildTimeline', () => {
  it('groups consecutive messages of one author within the window', () => {
    const first = msg(1, bob);
    const close = { ...msg(2, bob), ts: first.ts + GROUP_WINDOW_MS - 1 };
    const late = { ...msg(3, bob), ts: close.ts + GROUP_WINDOW_MS + 1 };
    const other = { ...msg(4, ada), ts: late.ts + 1 };
    const back = { ...msg(5, bob), ts: late.ts + 2 };
    const timeline = messagesOf(buildTimeline([first, close, late, other, back], [], ada));
    expect(timeline.map((entry) => entry.startsGroup)).toEqual([true, false, true, true, true]);
  });

  it('marks own messages, and the last sent one', () => {
    const timeline = messagesOf(buildTimeline([msg(1, ada), msg(2, bob), msg(3, ada), msg(4, bob)], [], ada));
    expect(timeline.map((entry) => entry.own)).toEqual([true, false, true, false]);
    expect(timeline.map((entry) => entry.lastSent)).toEqual([false, false, true, false]);
  });

  it('puts pending and failed messages after the stored ones, with stable keys', () => {
    const stored = msg(1, ada);
    const pending: PendingMessage[] = [
      { clientId: 'client-a', room: 'lobby', text: 'on its way', ts: stored.ts + 1, status: 'pending' },
      { clientId: 'client-b', room: 'lobby', text: 'refused', ts: stored.ts + 2, status: 'failed', error: { code: 'rate_limited', message: 'slow down' } },
    ];
    const timeline = messagesOf(buildTimeline([stored], pending, ada));
    expect(timeline.map((entry) => [entry.key, entry.status, entry.own, entry.startsGroup])).toEqual([
      [stored.id, 'sent', true, true],
      ['pending:client-a', 'pending', true, false],
      ['pending:client-b', 'failed', true, false],
    ]);
  });

  it('puts a day divider before the first message of each day', () => {
    const day = new Date(2024, 0, 1, 23, 59).getTime();
    const next = new Date(2024, 0, 2, 0, 1).getTime();
    const timeline = buildTimeline([{ ...msg(1), ts: day }, { ...msg(2), ts: next }], [], ada);
    expect(timeline.map((entry) => entry.kind)).toEqual(['day', 'message', 'day', 'message']);
    expect(messagesOf(timeline).map((entry) => entry.startsGroup)).toEqual([true, true]);
  });
});
