'use client';

import { useEffect, useRef } from 'react';
import type { Message } from '@chat/protocol';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

interface MessageListProps {
  messages: readonly Message[];
  room: string;
  joined: boolean;
  /** The current user's id, to tell their own messages apart. */
  selfId: string | null;
}

export function MessageList({ messages, room, joined, selfId }: MessageListProps) {
  const scrollerRef = useRef<HTMLDivElement>(null);
  // Follow new messages only while the user is at the bottom, not while they read history.
  const stickToBottom = useRef(true);

  useEffect(() => {
    const scroller = scrollerRef.current;
    if (scroller && stickToBottom.current) scroller.scrollTop = scroller.scrollHeight;
  }, [messages]);

  return (
    <div
      className="messages"
      ref={scrollerRef}
      onScroll={(event) => {
        const { scrollTop, scrollHeight, clientHeight } = event.currentTarget;
        stickToBottom.current = scrollHeight - scrollTop - clientHeight < 40;
      }}
    >
      {messages.length === 0 && <p className="messages-empty">{joined ? 'No messages yet. Say hello!' : `Joining #${room}…`}</p>}
      <ol aria-label={`Messages in #${room}`}>
        {messages.map((message) => (
          <li key={message.id} className={message.author.id === selfId ? 'message message-own' : 'message'}>
            <div className="message-meta">
              <span className="message-author">{message.author.name}</span>
              <time dateTime={new Date(message.ts).toISOString()} title={fullFormat.format(message.ts)}>
                {timeFormat.format(message.ts)}
              </time>
            </div>
            <p className="message-text">{message.text}</p>
          </li>
        ))}
      </ol>
    </div>
  );
}
