/** Limits shared by client and server; the schemas enforce them. */
export const limits = {
  /** Display name length, counted after trimming. */
  nameMaxLength: 32,
  /** Message text length, counted after trimming. */
  textMaxLength: 2000,
  /** How many recent messages `room:join` returns. */
  joinHistory: 50,
} as const;

/** Room names: lowercase letters, digits and dashes, starting with a letter or digit, at most 64 chars. */
export const roomPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The room every client joins first. */
export const defaultRoom = 'lobby';
