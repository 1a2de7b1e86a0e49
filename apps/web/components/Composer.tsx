'use client';

import { useState, type FormEvent } from 'react';

interface ComposerProps {
  /** Resolves with an error to show, or null once the message is accepted. */
  onSend(text: string): Promise<string | null>;
  disabled: boolean;
}

export function Composer({ onSend, disabled }: ComposerProps) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // Empty or whitespace-only text is simply not sent.
    if (disabled || sending || text.trim() === '') return;
    const sent = text;
    setSending(true);
    const failure = await onSend(sent);
    setSending(false);
    setError(failure);
    // Keep anything typed while the message was on its way.
    if (!failure) setText((current) => (current === sent ? '' : current));
  }

  return (
    <form className="composer" onSubmit={handleSubmit} noValidate>
      <label htmlFor="message" className="visually-hidden">
        Message
      </label>
      <div className="field-row">
        <input
          id="message"
          name="message"
          type="text"
          autoComplete="off"
          enterKeyHint="send"
          placeholder="Write a message…"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setError(null);
          }}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'message-error' : undefined}
        />
        <button type="submit" disabled={disabled || sending}>
          Send
        </button>
      </div>
      {error && (
        <p id="message-error" className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
