/** Limits shared by client and server; the schemas enforce them. */
export const limits = {
  /** Display name length, counted after trimming. */
  nameMaxLength: 32,
  /** Message text length, counted after trimming. */
  textMaxLength: 2000,
  /** How many recent messages `room:join` returns. */
  joinHistory: 50,
  /** Most messages one `history:fetch` returns. */
  fetchMax: 100,
  /** Most rooms `rooms:list` returns (the most recently active). */
  roomsListed: 100,
  /** A typing indicator with no refresh expires after this long. */
  typingTtlMs: 5_000,
} as const;

/** Client-chosen ids (`userId`, `clientId`): URL-safe characters, long enough to be unguessable. */
export const clientIdPattern = /^[A-Za-z0-9_-]{8,64}$/;

/** Room names: lowercase letters, digits and dashes, starting with a letter or digit, at most 64 chars. */
export const roomPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The room every client joins first. */
export const defaultRoom = 'lobby';
