import { z } from 'zod';
import { limits, roomPattern } from './limits.js';

export const nameSchema = z
  .string({ error: 'must be a string' })
  .trim()
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

const payload = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape, { error: 'payload must be an object' });

/** `auth` of the Socket.IO handshake. */
export const handshakeAuthSchema = payload({ name: nameSchema });

export const roomJoinSchema = payload({ room: roomSchema });
export const roomLeaveSchema = payload({ room: roomSchema });
export const messageSendSchema = payload({ room: roomSchema, text: textSchema });

export type HandshakeAuth = z.input<typeof handshakeAuthSchema>;
export type RoomJoinPayload = z.input<typeof roomJoinSchema>;
export type RoomLeavePayload = z.input<typeof roomLeaveSchema>;
export type MessageSendPayload = z.input<typeof messageSendSchema>;

/** One line saying what is wrong with a payload, e.g. `text: must be 1-2000 characters after trimming`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'payload'}: ${issue.message}`)
    .join('; ');
}
