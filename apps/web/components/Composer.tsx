'use client';

import { useLayoutEffect, useState, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import { limits } from '@chat/protocol';

interface ComposerProps {
  room: string;
  /** Queues the message; returns why the text is not acceptable, or null. */
  onSend(text: string): string | null;
  onTextChange(text: string): void;
  onBlur(): void;
  /** The textarea, for the page to move focus to it. */
  inputRef: RefObject<HTMLTextAreaElement | null>;
  textareaId?: string;
}

/** Shown once the text gets this close to the limit. */
const COUNTER_FROM = limits.textMaxLength - 200;

/** The message field: Enter sends, Shift+Enter starts a new line; grows with its text. */
export function Composer({ room, onSend, onTextChange, onBlur, inputRef, textareaId = 'message' }: ComposerProps) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  useLayoutEffect(() => {
    const field = inputRef.current;
    if (!field) return;
    field.style.height = 'auto';
    field.style.height = `${Math.min(field.scrollHeight, 160)}px`;
  }, [inputRef, text]);

  function submit() {
    if (text.trim() === '') return;
    const failure = onSend(text);
    setError(failure);
    if (!failure) {
      setText('');
      onTextChange('');
    }
  }

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    submit();
  }

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  const length = text.trim().length;

  return (
    <form className="composer" onSubmit={handleSubmit} noValidate>
      <label htmlFor={textareaId} className="visually-hidden">
        Message
      </label>
      <div className="composer-row">
        <textarea
          id={textareaId}
          name="message"
          ref={inputRef}
          rows={1}
          autoComplete="off"
          enterKeyHint="send"
          placeholder={`Message #${room}`}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setError(null);
            onTextChange(event.target.value);
          }}
          onKeyDown={handleKeyDown}
          onBlur={onBlur}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'composer-error' : length >= COUNTER_FROM ? 'composer-count' : undefined}
        />
        <button type="submit" className="send-button" disabled={text.trim() === ''}>
          Send
        </button>
      </div>
      {length >= COUNTER_FROM && (
        <p id="composer-count" className={length > limits.textMaxLength ? 'counter counter-over' : 'counter'}>
          {length} / {limits.textMaxLength}
        </p>
      )}
      {error && (
        <p id="composer-error" className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
