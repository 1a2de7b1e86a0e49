'use client';

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { formatDay } from '../lib/format';
import type { TimelineEntry } from '../lib/timeline';
import { MessageItem } from './MessageItem';

interface MessageListProps {
  room: string;
  entries: readonly TimelineEntry[];
  /** The room's recent history has arrived. */
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder(): void;
  onRetry(clientId: string): void;
  onDiscard(clientId: string): void;
}

/** Within this many pixels of the bottom counts as "at the bottom": new messages are followed. */
const BOTTOM_SLACK_PX = 48;
/** Scrolled this close to the top, the previous page of history is fetched. */
const TOP_TRIGGER_PX = 160;

interface Snapshot {
  firstKey: string | undefined;
  lastKey: string | undefined;
  scrollHeight: number;
}

function messageKeys(entries: readonly TimelineEntry[]) {
  const messages = entries.filter((entry) => entry.kind === 'message');
  const last = messages.at(-1);
  return { firstKey: messages[0]?.key, lastKey: last?.key, lastOwn: last?.own ?? false };
}

/**
 * The conversation: follows new messages while the reader is at the bottom, offers a jump back
 * when they are reading further up, and loads older history when scrolled to the top while
 * keeping the messages in view where they were. Mounted once per room (keyed by the room).
 */
export function MessageList({ room, entries, loaded, hasOlder, loadingOlder, onLoadOlder, onRetry, onDiscard }: MessageListProps) {
  const scrollerRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const snapshot = useRef<Snapshot | null>(null);
  const [unseen, setUnseen] = useState(false);

  const scrollToBottom = useCallback(() => {
    const scroller = scrollerRef.current;
    if (!scroller) return;
    scroller.scrollTop = scroller.scrollHeight;
    atBottom.current = true;
    setUnseen(false);
  }, []);

  useLayoutEffect(() => {
    const scroller = scrollerRef.current;
    if (!scroller) return;
    const { firstKey, lastKey, lastOwn } = messageKeys(entries);
    const previous = snapshot.current;
    if (previous?.firstKey !== undefined && firstKey !== previous.firstKey && lastKey === previous.lastKey) {
      // Older messages went in above: keep what the reader was looking at in place.
      scroller.scrollTop += scroller.scrollHeight - previous.scrollHeight;
    } else if (atBottom.current || (lastOwn && lastKey !== previous?.lastKey)) {
      scrollToBottom();
    } else if (previous && lastKey !== previous.lastKey) {
      setUnseen(true);
    }
    snapshot.current = { firstKey, lastKey, scrollHeight: scroller.scrollHeight };
  }, [entries, scrollToBottom]);

  // A short history that does not fill the view cannot be scrolled to the top: keep loading.
  useEffect(() => {
    const scroller = scrollerRef.current;
    if (scroller && loaded && hasOlder && !loadingOlder && scroller.scrollHeight <= scroller.clientHeight + 1) onLoadOlder();
  }, [entries, loaded, hasOlder, loadingOlder, onLoadOlder]);

  // Stay at the bottom when the view shrinks (a phone keyboard opening, the window resized).
  useEffect(() => {
    const scroller = scrollerRef.current;
    if (!scroller || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) scroller.scrollTop = scroller.scrollHeight;
    });
    observer.observe(scroller);
    return () => observer.disconnect();
  }, []);

  const hasMessages = entries.length > 0;

  return (
    <div className="messages">
      <div
        className="messages-scroller"
        ref={scrollerRef}
        role="log"
        aria-label="Conversation"
        aria-relevant="additions"
        tabIndex={0}
        onScroll={(event) => {
          const { scrollTop, scrollHeight, clientHeight } = event.currentTarget;
          atBottom.current = scrollHeight - scrollTop - clientHeight < BOTTOM_SLACK_PX;
          if (atBottom.current) setUnseen(false);
          if (scrollTop < TOP_TRIGGER_PX && hasOlder && !loadingOlder && loaded) onLoadOlder();
        }}
      >
        <div className="messages-top">
          {loadingOlder ? (
            <p className="messages-note" role="status">
              <span className="spinner" aria-hidden="true" /> Loading earlier messages…
            </p>
          ) : hasOlder ? (
            <button type="button" className="ghost small" onClick={onLoadOlder}>
              Load earlier messages
            </button>
          ) : loaded && hasMessages ? (
            <p className="messages-note">This is the beginning of #{room}.</p>
          ) : null}
        </div>
        {!hasMessages && (
          <p className="messages-empty">{loaded ? `No messages in #${room} yet. Say hello!` : `Loading #${room}…`}</p>
        )}
        <ol className="message-items">
          {entries.map((entry) =>
            entry.kind === 'day' ? (
              <li key={entry.key} className="day-divider" role="separator">
                <span>{formatDay(entry.ts)}</span>
              </li>
            ) : (
              <MessageItem key={entry.key} entry={entry} onRetry={onRetry} onDiscard={onDiscard} />
            ),
          )}
        </ol>
      </div>
      {unseen && (
        <button type="button" className="jump-latest" onClick={scrollToBottom}>
          New messages <span aria-hidden="true">↓</span>
        </button>
      )}
    </div>
  );
}
