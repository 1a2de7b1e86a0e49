import { z } from 'zod';
import { clientIdPattern, limits, roomPattern } from './limits.js';

/** C0/C1 controls and bidi embeddings, overrides and isolates: invisible, and able to disguise a name. */
const unsafeInNames = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

export const nameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  // One spelling per name: "é" typed precomposed or as e + accent is the same name.
  .normalize('NFC')
  .refine((name) => !unsafeInNames.test(name), 'must not contain control or bidi-override characters')
  .min(1, `must be 1-${limits.nameMaxLength} characters after trimming`)
  .max(limits.nameMaxLength, `must be 1-${limits.nameMaxLength} characters after trimming`);

export const roomSchema = z
  .string({ error: 'must be a string' })
  .regex(roomPattern, 'must match ^[a-z0-9][a-z0-9-]{0,63}$ (lowercase letters, digits, dashes)');

export const textSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, `must be 1-${limits.textMaxLength} characters after trimming`)
  .max(limits.textMaxLength, `must be 1-${limits.textMaxLength} characters after trimming`);

/** A client-chosen id: a stable user id kept in the browser, or a message's idempotency key. */
export const clientIdSchema = z
  .string({ error: 'must be a string' })
  .regex(clientIdPattern, 'must be 8-64 characters: letters, digits, "_" or "-"');

/** A message id (a Redis stream id `ms-seq`), used as a history cursor. */
export const messageIdSchema = z.string({ error: 'must be a string' }).regex(/^\d{1,15}-\d{1,15}$/, 'must be a message id like 1700000000000-0');

const payload = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape, { error: 'payload must be an object' });

/** `auth` of the Socket.IO handshake. */
export const handshakeAuthSchema = payload({ name: nameSchema, userId: clientIdSchema.optional() });

export const roomJoinSchema = payload({ room: roomSchema });
export const roomLeaveSchema = payload({ room: roomSchema });
export const messageSendSchema = payload({ room: roomSchema, text: textSchema, clientId: clientIdSchema.optional() });
export const roomsListSchema = payload({});
export const historyFetchSchema = payload({
  room: roomSchema,
  before: messageIdSchema.optional(),
  after: messageIdSchema.optional(),
  limit: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, `must be 1-${limits.fetchMax}`)
    .max(limits.fetchMax, `must be 1-${limits.fetchMax}`)
    .default(50),
});
export const typingSchema = payload({ room: roomSchema, typing: z.boolean({ error: 'must be true or false' }) });

export type HandshakeAuth = z.input<typeof handshakeAuthSchema>;
export type RoomJoinPayload = z.input<typeof roomJoinSchema>;
export type RoomLeavePayload = z.input<typeof roomLeaveSchema>;
export type MessageSendPayload = z.input<typeof messageSendSchema>;
export type RoomsListPayload = z.input<typeof roomsListSchema>;
export type HistoryFetchPayload = z.input<typeof historyFetchSchema>;
export type TypingPayload = z.input<typeof typingSchema>;

/** One line saying what is wrong with a payload, e.g. `text: must be 1-2000 characters after trimming`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'payload'}: ${issue.message}`)
    .join('; ');
}
