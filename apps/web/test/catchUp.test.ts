import { describe, expect, it } from 'vitest';
import type { Message } from '@chat/protocol';
import { catchUp } from '../lib/catchUp';
import { range } from './fixtures';

/** A server holding messages 1..total, answering `history:fetch { after, limit }` like the real one. */
function server(total: number, pageSize: number) {
  const all = range(1, total);
  const cursors: string[] = [];
  return {
    cursors,
    fetchPage: async (after: string) => {
      cursors.push(after);
      const index = all.findIndex((m) => m.id === after);
      return all.slice(index + 1, index + 1 + pageSize);
    },
  };
}

describe('catchUp', () => {
  it('fetches page after page while full pages come back, each from the newest id so far', async () => {
    const { cursors, fetchPage } = server(250, 100);
    const received: Message[] = [];
    const result = await catchUp({ after: range(5, 5)[0]!.id, pageSize: 100, maxPages: 10, fetchPage, onPage: (page) => received.push(...page) });
    expect(result).toBe('complete');
    expect(received.map((m) => m.id)).toEqual(range(6, 250).map((m) => m.id));
    expect(cursors).toEqual([range(5, 5)[0]!.id, range(105, 105)[0]!.id, range(205, 205)[0]!.id]);
  });

  it('asks one more page after an exactly full page, and stops on the empty one', async () => {
    const { cursors, fetchPage } = server(200, 100);
    const pages: number[] = [];
    const result = await catchUp({ after: range(100, 100)[0]!.id, pageSize: 100, maxPages: 10, fetchPage, onPage: (page) => pages.push(page.length) });
    expect(result).toBe('complete');
    expect(pages).toEqual([100]);
    expect(cursors).toHaveLength(2);
  });

  it('gives up after maxPages', async () => {
    const { fetchPage } = server(1000, 100);
    expect(await catchUp({ after: range(1, 1)[0]!.id, pageSize: 100, maxPages: 3, fetchPage, onPage: () => {} })).toBe('truncated');
  });

  it('fails when a page cannot be fetched, or the cursor would not move forward', async () => {
    expect(await catchUp({ after: '1-0', pageSize: 10, maxPages: 3, fetchPage: async () => null, onPage: () => {} })).toBe('failed');
    const stuck = range(1, 10);
    expect(await catchUp({ after: stuck[9]!.id, pageSize: 10, maxPages: 3, fetchPage: async () => stuck, onPage: () => {} })).toBe('failed');
  });
});
