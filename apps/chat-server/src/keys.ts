/** Every Redis key the chat servers use, in one place. */
export const keys = {
  /** Stream of a room's messages; stream ids are the message ids. */
  messages: (room: string) => `chat:room:${room}:messages`,
  /** Sorted set of rooms by last activity (ms). */
  rooms: 'chat:rooms',
  /** Sorted set of a room's present sockets, scored by when their entry expires (ms). */
  presence: (room: string) => `chat:room:${room}:presence`,
  /** Set of rooms that may have presence entries, for the expiry sweep. */
  presenceRooms: 'chat:presence-rooms',
  /** Message id already stored for a user's clientId (idempotent sends). */
  sent: (userId: string, clientId: string) => `chat:user:${userId}:sent:${clientId}`,
  /** Token bucket of a user's sends. */
  sendBucket: (userId: string) => `chat:user:${userId}:bucket`,
};
