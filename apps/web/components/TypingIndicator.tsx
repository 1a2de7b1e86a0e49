import type { User } from '@chat/protocol';
import { typingSentence } from '../lib/format';

/** "Ada is typing…": a polite live region that always keeps its height, so nothing jumps. */
export function TypingIndicator({ users }: { users: readonly User[] }) {
  const sentence = typingSentence(users.map((user) => user.name));
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {sentence && (
        <>
          <span className="typing-dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          <span>{sentence}</span>
        </>
      )}
    </div>
  );
}
