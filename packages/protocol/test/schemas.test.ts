import { describe, expect, it } from 'vitest';
import {
  clientEventSchemas,
  compareMessageIds,
  describeIssues,
  handshakeAuthSchema,
  historyFetchSchema,
  typingSchema,
  messageSendSchema,
  roomJoinSchema,
} from '../src/index.js';

describe('handshake auth', () => {
  it('trims the name', () => {
    expect(handshakeAuthSchema.parse({ name: '  Ada  ' })).toEqual({ name: 'Ada' });
  });

  it.each([
    [undefined, 'payload: payload must be an object'],
    [{}, 'name: must be a string'],
    [{ name: '   ' }, 'name: must be 1-32 characters after trimming'],
    [{ name: 'x'.repeat(33) }, 'name: must be 1-32 characters after trimming'],
    [{ name: 42 }, 'name: must be a string'],
  ])('rejects %j with a message saying why', (auth, message) => {
    const result = handshakeAuthSchema.safeParse(auth);
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toBe(message);
  });

  it('normalises to NFC before counting', () => {
    expect(handshakeAuthSchema.parse({ name: 'Zoe\u0301' }).name).toBe('Zo\u00e9');
  });

  it.each(['Ada\u202Egnp.exe', 'Bo\u2066b', 'tab\there', 'nul\u0000', 'bell\u0007'])('rejects control and bidi characters in %j', (name) => {
    const result = handshakeAuthSchema.safeParse({ name });
    expect(describeIssues(result.error!)).toBe('name: must not contain control or bidi-override characters');
  });

  it('keeps emoji sequences (zero-width joiners are not controls)', () => {
    expect(handshakeAuthSchema.safeParse({ name: '👩\u200D💻 Dev' }).success).toBe(true);
  });

  it('accepts exactly 32 characters', () => {
    expect(handshakeAuthSchema.safeParse({ name: ` ${'x'.repeat(32)} ` }).success).toBe(true);
  });
});

describe('stable user ids', () => {
  it('accepts a UUID and a nanoid', () => {
    expect(handshakeAuthSchema.safeParse({ name: 'a', userId: '3f1c2a9e-5b7d-4c1e-9a2b-0d4e6f8a1b2c' }).success).toBe(true);
    expect(handshakeAuthSchema.safeParse({ name: 'a', userId: 'V1StGXR8_Z5jdHi6B-myT' }).success).toBe(true);
  });

  it.each(['short', 'x'.repeat(65), 'has space in it', '../../etc', 42])('rejects %j', (userId) => {
    const result = handshakeAuthSchema.safeParse({ name: 'a', userId });
    expect(result.success).toBe(false);
  });
});

describe('room names', () => {
  it.each(['lobby', 'a', '0', 'dev-ops', 'a'.repeat(64)])('accepts %s', (room) => {
    expect(roomJoinSchema.safeParse({ room }).success).toBe(true);
  });

  it.each(['', '-lobby', 'Lobby', 'lob by', 'a'.repeat(65), 'café', 'lobby\n'])('rejects %j', (room) => {
    expect(roomJoinSchema.safeParse({ room }).success).toBe(false);
  });
});

describe('message:send', () => {
  it('trims the text', () => {
    expect(messageSendSchema.parse({ room: 'lobby', text: ' hi ' })).toEqual({ room: 'lobby', text: 'hi' });
  });

  it('drops fields the server sets itself', () => {
    const parsed = messageSendSchema.parse({ room: 'lobby', text: 'hi', author: { id: 'x', name: 'y' }, ts: 1 });
    expect(parsed).toEqual({ room: 'lobby', text: 'hi' });
  });

  it.each([
    [{ room: 'lobby', text: '' }, 'text: must be 1-2000 characters after trimming'],
    [{ room: 'lobby', text: 'x'.repeat(2001) }, 'text: must be 1-2000 characters after trimming'],
    [{ room: 'Nope', text: 'hi' }, 'room: must match ^[a-z0-9][a-z0-9-]{0,63}$ (lowercase letters, digits, dashes)'],
    [null, 'payload: payload must be an object'],
    ['hi', 'payload: payload must be an object'],
  ])('rejects %j', (payload, message) => {
    const result = messageSendSchema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toBe(message);
  });

  it('accepts exactly 2000 characters', () => {
    expect(messageSendSchema.safeParse({ room: 'lobby', text: 'x'.repeat(2000) }).success).toBe(true);
  });
});

describe('history:fetch', () => {
  it('defaults the limit to 50', () => {
    expect(historyFetchSchema.parse({ room: 'lobby' })).toEqual({ room: 'lobby', limit: 50 });
  });

  it('takes message-id cursors', () => {
    expect(historyFetchSchema.parse({ room: 'lobby', before: '1700000000000-3', limit: 100 })).toMatchObject({
      before: '1700000000000-3',
    });
  });

  it.each([
    [{ room: 'lobby', limit: 101 }, 'limit: must be 1-100'],
    [{ room: 'lobby', limit: 0 }, 'limit: must be 1-100'],
    [{ room: 'lobby', limit: 2.5 }, 'limit: must be an integer'],
    [{ room: 'lobby', after: '+' }, 'after: must be a message id like 1700000000000-0'],
    [{ room: 'lobby', before: '(1-0' }, 'before: must be a message id like 1700000000000-0'],
  ])('rejects %j', (payload, message) => {
    const result = historyFetchSchema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toBe(message);
  });
});

describe('typing', () => {
  it('needs a boolean', () => {
    expect(typingSchema.safeParse({ room: 'lobby', typing: true }).success).toBe(true);
    expect(describeIssues(typingSchema.safeParse({ room: 'lobby', typing: 'yes' }).error!)).toBe('typing: must be true or false');
  });
});

describe('event table', () => {
  it('has a schema for every client event', () => {
    expect(Object.keys(clientEventSchemas).sort()).toEqual([
      'history:fetch',
      'message:send',
      'room:join',
      'room:leave',
      'rooms:list',
      'typing',
    ]);
  });
});

describe('compareMessageIds', () => {
  it('orders by time, then by sequence, numerically', () => {
    const ids = ['1700000000001-0', '1700000000000-10', '1700000000000-9'];
    expect([...ids].sort(compareMessageIds)).toEqual(['1700000000000-9', '1700000000000-10', '1700000000001-0']);
  });
});
