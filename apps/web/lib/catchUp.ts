import { compareMessageIds, type Message } from '@chat/protocol';

export interface CatchUpOptions {
  /** The newest message id held before the connection dropped. */
  after: string;
  /** The `limit` asked of each page; a full page means there may be more. */
  pageSize: number;
  /** Gives up after this many pages (the caller then starts over from the latest messages). */
  maxPages: number;
  /** One `history:fetch { after, limit: pageSize }`, oldest first; null when it failed. */
  fetchPage(after: string): Promise<readonly Message[] | null>;
  /** Called with each non-empty page as it arrives. */
  onPage(messages: readonly Message[]): void;
}

/**
 * `complete`: everything after `after` was delivered; `truncated`: more than maxPages pages were
 * missed; `failed`: a page could not be fetched (or the server went backwards).
 */
export type CatchUpResult = 'complete' | 'truncated' | 'failed';

/** Fetches what was missed while away, page by page, while full pages keep coming back. */
export async function catchUp({ after, pageSize, maxPages, fetchPage, onPage }: CatchUpOptions): Promise<CatchUpResult> {
  let cursor = after;
  for (let page = 0; page < maxPages; page++) {
    const messages = await fetchPage(cursor);
    if (messages === null) return 'failed';
    if (messages.length > 0) onPage(messages);
    if (messages.length < pageSize) return 'complete';
    const newest = messages.at(-1)!.id;
    // A cursor that does not move forward would loop forever.
    if (compareMessageIds(newest, cursor) <= 0) return 'failed';
    cursor = newest;
  }
  return 'truncated';
}
