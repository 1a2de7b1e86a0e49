'use client';

import { useState, type FormEvent } from 'react';
import { roomSchema } from '@chat/protocol';

interface JoinRoomFormProps {
  onJoin(room: string): void;
}

/** Joins a room by name, creating it if it is new; the name is checked with the protocol's schema. */
export function JoinRoomForm({ onJoin }: JoinRoomFormProps) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = roomSchema.safeParse(value.trim());
    if (!parsed.success) {
      setError(`Room ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      event.currentTarget.querySelector('input')?.focus();
      return;
    }
    setError(null);
    setValue('');
    onJoin(parsed.data);
  }

  return (
    <form className="join-room" onSubmit={handleSubmit} noValidate>
      <label htmlFor="room">Room</label>
      <div className="field-row">
        <input
          id="room"
          name="room"
          type="text"
          autoComplete="off"
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          enterKeyHint="go"
          placeholder="join or create"
          value={value}
          onChange={(event) => {
            setValue(event.target.value);
            setError(null);
          }}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'room-error' : 'room-hint'}
        />
        <button type="submit" className="secondary">
          Join
        </button>
      </div>
      {error ? (
        <p id="room-error" className="error" role="alert">
          {error}
        </p>
      ) : (
        <p id="room-hint" className="hint">
          Lowercase letters, digits and dashes.
        </p>
      )}
    </form>
  );
}
