import { describeSendError, formatFullTime, formatTime } from '../lib/format';
import type { TimelineMessage } from '../lib/timeline';
import { Avatar } from './Avatar';
import { MessageText } from './MessageText';

interface MessageItemProps {
  entry: TimelineMessage;
  onRetry(clientId: string): void;
  onDiscard(clientId: string): void;
}

export function MessageItem({ entry, onRetry, onDiscard }: MessageItemProps) {
  const { author, own, status, startsGroup, ts, pending } = entry;
  const classes = ['msg', own ? 'msg-own' : 'msg-other', `msg-${status}`, startsGroup ? 'msg-first' : 'msg-cont'];
  const who = own ? 'You' : author.name;
  return (
    <li className={classes.join(' ')} data-status={status} data-id={entry.id ?? undefined}>
      {!own && <div className="msg-gutter">{startsGroup && <Avatar user={author} />}</div>}
      <div className="msg-body">
        {startsGroup ? (
          <div className="msg-meta">
            <span className="msg-author">{who}</span>
            <time dateTime={new Date(ts).toISOString()} title={formatFullTime(ts)}>
              {formatTime(ts)}
            </time>
          </div>
        ) : (
          <span className="visually-hidden">
            {who}, {formatTime(ts)}:
          </span>
        )}
        <div className="msg-bubble" title={startsGroup ? undefined : formatFullTime(ts)}>
          <p className="msg-text">
            <MessageText text={entry.text} />
          </p>
        </div>
        {status === 'pending' && <p className="msg-status">Sending…</p>}
        {entry.lastSent && (
          <p className="msg-status msg-status-sent">
            <span aria-hidden="true">✓ </span>Sent
          </p>
        )}
        {status === 'failed' && pending && (
          <div className="msg-failure" role="alert">
            <p>
              <strong>Not sent.</strong> {pending.error ? describeSendError(pending.error) : ''}
            </p>
            <div className="msg-failure-actions">
              <button type="button" className="secondary small" onClick={() => onRetry(pending.clientId)}>
                Retry
              </button>
              <button type="button" className="ghost small" onClick={() => onDiscard(pending.clientId)}>
                Discard
              </button>
            </div>
          </div>
        )}
      </div>
    </li>
  );
}
