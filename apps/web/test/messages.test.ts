import { describe, expect, it } from 'vitest';
import type { Message } from '@chat/protocol';
import { mergeMessages } from '../lib/messages';

const message = (id: string, text = id): Message => ({
  id,
  room: 'lobby',
  author: { id: 'u1', name: 'Ada' },
  text,
  ts: Number(id.split('-')[0]),
  instance: 'chat-1',
});

describe('mergeMessages', () => {
  it('keeps messages ordered by id, numerically', () => {
    const merged = mergeMessages([message('1000-0'), message('1000-10')], [message('999-5'), message('1000-2')]);
    expect(merged.map((m) => m.id)).toEqual(['999-5', '1000-0', '1000-2', '1000-10']);
  });

  it('drops duplicates, keeping the first copy', () => {
    const current = [message('1-0', 'ack copy')];
    const merged = mergeMessages(current, [message('1-0', 'broadcast copy'), message('2-0'), message('2-0')]);
    expect(merged.map((m) => [m.id, m.text])).toEqual([
      ['1-0', 'ack copy'],
      ['2-0', '2-0'],
    ]);
  });

  it('returns the same array when nothing is new', () => {
    const current = [message('1-0')];
    expect(mergeMessages(current, [message('1-0')])).toBe(current);
    expect(mergeMessages(current, [])).toBe(current);
  });
});
