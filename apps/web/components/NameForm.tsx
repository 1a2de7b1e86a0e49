'use client';

import { useState, type FormEvent } from 'react';
import { nameSchema } from '@chat/protocol';

interface NameFormProps {
  onSubmit(name: string): void;
  /** The name to start from, e.g. the one the server just refused. */
  initialName?: string;
  /** Why the server refused the last attempt, if it did. */
  serverError?: string | null;
}

export function NameForm({ onSubmit, initialName = '', serverError = null }: NameFormProps) {
  const [value, setValue] = useState(initialName);
  const [error, setError] = useState<string | null>(null);
  const shownError = error ?? (serverError ? `The server refused the connection: ${serverError}` : null);

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = nameSchema.safeParse(value);
    if (!parsed.success) {
      setError(`Name ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      return;
    }
    setError(null);
    onSubmit(parsed.data);
  }

  return (
    <form className="name-form" onSubmit={handleSubmit} noValidate>
      <h2 className="signin-title">Welcome</h2>
      <p className="name-intro">Pick a display name to join the chat. It is remembered on this device.</p>
      <label htmlFor="name">Name</label>
      <div className="field-row">
        <input
          id="name"
          name="name"
          type="text"
          autoComplete="nickname"
          autoFocus
          value={value}
          onChange={(event) => {
            setValue(event.target.value);
            setError(null);
          }}
          aria-invalid={shownError ? true : undefined}
          aria-describedby={shownError ? 'name-error' : undefined}
        />
        <button type="submit">Join</button>
      </div>
      {shownError && (
        <p id="name-error" className="error" role="alert">
          {shownError}
        </p>
      )}
    </form>
  );
}
