import { describe, expect, it } from 'vitest';
import { limits } from '@chat/protocol';
import {
  chatReducer,
  currentRoom,
  initialState,
  memberCount,
  TYPING_DISPLAY_MS,
  totalUnread,
  visiblePending,
  type ChatAction,
  type ChatState,
  type PendingMessage,
} from '../lib/chatState';
import { ada, bob, msg, range } from './fixtures';

const reduce = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);

/** Ada, signed in, with lobby and `side` open, lobby in view, both joined with `history`. */
function signedIn(history: { lobby?: ReturnType<typeof range>; side?: ReturnType<typeof range> } = {}): ChatState {
  return reduce(
    initialState,
    { type: 'started', name: 'Ada', userId: ada.id, rooms: ['lobby', 'side'], current: 'lobby' },
    { type: 'connected', transport: 'websocket' },
    { type: 'session', session: { instance: 'chat-1', user: ada } },
    { type: 'roomJoined', room: 'lobby', messages: history.lobby ?? [], historyLimit: limits.joinHistory },
    { type: 'roomJoined', room: 'side', messages: history.side ?? [], historyLimit: limits.joinHistory },
  );
}

const ids = (state: ChatState, room = 'lobby') => state.rooms[room]!.messages.map((m) => m.id);
const pending = (text: string, clientId = 'client-0001', room = 'lobby'): PendingMessage => ({
  clientId,
  room,
  text,
  ts: 1,
  status: 'pending',
});

describe('chatReducer: rooms', () => {
  it('starts with the default room first, the remembered rooms open and the remembered one in view', () => {
    const state = chatReducer(initialState, { type: 'started', name: 'Ada', userId: ada.id, rooms: ['side', 'lobby'], current: 'side' });
    expect(state.openRooms).toEqual(['lobby', 'side']);
    expect(state.current).toBe('side');
    expect(state.status).toBe('connecting');
    expect(Object.keys(state.rooms).sort()).toEqual(['lobby', 'side']);
  });

  it('opens a new room and shows it; opening an open room only selects it', () => {
    let state = chatReducer(signedIn(), { type: 'roomOpened', room: 'new' });
    expect(state.openRooms).toEqual(['lobby', 'side', 'new']);
    expect(state.current).toBe('new');
    state = chatReducer(state, { type: 'roomOpened', room: 'lobby' });
    expect(state.openRooms).toEqual(['lobby', 'side', 'new']);
    expect(state.current).toBe('lobby');
  });

  it('closes a room (showing the lobby if it was in view) but never the lobby', () => {
    let state = reduce(signedIn(), { type: 'roomSelected', room: 'side' }, { type: 'roomClosed', room: 'side' });
    expect(state.openRooms).toEqual(['lobby']);
    expect(state.current).toBe('lobby');
    expect(state.rooms.side).toBeUndefined();
    state = chatReducer(state, { type: 'roomClosed', room: 'lobby' });
    expect(state.openRooms).toEqual(['lobby']);
  });

  it('ignores events for rooms that are not open', () => {
    const state = signedIn();
    expect(chatReducer(state, { type: 'messagesReceived', room: 'elsewhere', messages: [msg(1)] })).toBe(state);
    expect(chatReducer(state, { type: 'presenceUpdated', room: 'elsewhere', members: [bob] })).toBe(state);
  });

  it('learns from the first join whether there is older history', () => {
    expect(signedIn({ lobby: range(1, 50) }).rooms.lobby!.hasOlder).toBe(true);
    expect(signedIn({ lobby: range(1, 49) }).rooms.lobby!.hasOlder).toBe(false);
  });

  it('forgets joins, typing and loading state when the connection drops, but keeps the messages', () => {
    let state = reduce(
      signedIn({ lobby: range(1, 3) }),
      { type: 'typingUpdated', room: 'lobby', user: bob, typing: true, now: 0 },
      { type: 'olderRequested', room: 'lobby' },
      { type: 'connectionLost', status: 'reconnecting', error: 'Connection lost (transport close)' },
    );
    expect(state.status).toBe('reconnecting');
    expect(state.session).toBeNull();
    expect(state.rooms.lobby).toMatchObject({ joined: false, typing: [], loadingOlder: false });
    expect(ids(state)).toEqual(range(1, 3).map((m) => m.id));
    state = chatReducer(state, { type: 'connected', transport: 'websocket' });
    expect(state).toMatchObject({ status: 'connected', error: null });
  });
});

describe('chatReducer: merging messages', () => {
  it('keeps messages ordered by id and de-duplicated, whatever the arrival order', () => {
    const state = reduce(
      signedIn({ lobby: [msg(2), msg(4)] }),
      { type: 'messagesReceived', room: 'lobby', messages: [msg(5)] },
      { type: 'messagesReceived', room: 'lobby', messages: [msg(3), msg(4), msg(3)] },
      { type: 'olderLoaded', room: 'lobby', messages: [msg(1), msg(2)], hasOlder: false },
    );
    expect(ids(state)).toEqual([1, 2, 3, 4, 5].map((n) => msg(n).id));
  });

  it('returns the same state when nothing is new', () => {
    const state = signedIn({ lobby: [msg(1)] });
    expect(chatReducer(state, { type: 'messagesReceived', room: 'lobby', messages: [msg(1)] })).toBe(state);
  });

  it('starts over from the latest messages when the gap could not be closed', () => {
    const state = chatReducer(signedIn({ lobby: range(1, 5) }), { type: 'roomReset', room: 'lobby', messages: range(300, 349) });
    expect(ids(state)).toEqual(range(300, 349).map((m) => m.id));
    expect(state.rooms.lobby!.hasOlder).toBe(true);
  });

  it('catch-up pages and the rejoin history merge into one list without gaps or duplicates', () => {
    let state = signedIn({ lobby: range(1, 10) });
    state = chatReducer(state, { type: 'connectionLost', status: 'reconnecting', error: 'lost' });
    // A live message arrives on the new connection before the catch-up pages.
    state = chatReducer(state, { type: 'messagesReceived', room: 'lobby', messages: [msg(131)] });
    state = chatReducer(state, { type: 'messagesReceived', room: 'lobby', messages: range(11, 110) });
    state = chatReducer(state, { type: 'messagesReceived', room: 'lobby', messages: range(111, 131) });
    state = chatReducer(state, { type: 'roomJoined', room: 'lobby', messages: range(82, 131), historyLimit: limits.joinHistory });
    expect(ids(state)).toEqual(range(1, 131).map((m) => m.id));
    expect(state.rooms.lobby!.joined).toBe(true);
    // hasOlder stays what the first join said (10 < 50: nothing older).
    expect(state.rooms.lobby!.hasOlder).toBe(false);
  });
});

describe('chatReducer: unread counts', () => {
  it('counts messages from others in rooms not in view, and clears them when the room is shown', () => {
    let state = signedIn({ side: [msg(1, bob, 'side')] });
    state = reduce(
      state,
      { type: 'messagesReceived', room: 'side', messages: [msg(2, bob, 'side')] },
      { type: 'messagesReceived', room: 'side', messages: [msg(3, bob, 'side'), msg(2, bob, 'side')] },
    );
    expect(state.rooms.side!.unread).toBe(2);
    expect(totalUnread(state)).toBe(2);
    state = chatReducer(state, { type: 'roomSelected', room: 'side' });
    expect(state.rooms.side!.unread).toBe(0);
    expect(totalUnread(state)).toBe(0);
  });

  it('does not count the room in view, own messages, the first history or scroll-back', () => {
    let state = signedIn({ side: range(10, 20, bob, 'side') });
    expect(state.rooms.side!.unread).toBe(0);
    state = reduce(
      state,
      { type: 'messagesReceived', room: 'lobby', messages: [msg(30)] },
      { type: 'messagesReceived', room: 'side', messages: [msg(31, ada, 'side')] },
      { type: 'olderLoaded', room: 'side', messages: range(1, 9, bob, 'side'), hasOlder: false },
    );
    expect(state.rooms.lobby!.unread).toBe(0);
    expect(state.rooms.side!.unread).toBe(0);
  });

  it('counts messages caught up after a reconnect', () => {
    let state = reduce(signedIn({ side: range(1, 5, bob, 'side') }), { type: 'connectionLost', status: 'reconnecting', error: 'lost' });
    state = reduce(
      state,
      { type: 'messagesReceived', room: 'side', messages: [...range(6, 8, bob, 'side'), msg(9, ada, 'side')] },
      { type: 'roomJoined', room: 'side', messages: range(1, 9, bob, 'side'), historyLimit: limits.joinHistory },
    );
    expect(state.rooms.side!.unread).toBe(3);
  });
});

describe('chatReducer: own messages, pending -> sent / failed', () => {
  it('shows a pending message until its ack replaces it with the stored one', () => {
    let state = chatReducer(signedIn(), { type: 'sendQueued', message: pending('hello') });
    expect(visiblePending(currentRoom(state))).toHaveLength(1);
    const stored = msg(1, ada, 'lobby', 'hello');
    state = chatReducer(state, { type: 'sendSucceeded', room: 'lobby', clientId: 'client-0001', message: stored });
    expect(currentRoom(state).pending).toEqual([]);
    expect(currentRoom(state).messages).toEqual([stored]);
  });

  it('never shows a message twice when its broadcast comes back before the ack', () => {
    const stored = msg(1, ada, 'lobby', 'hello');
    let state = reduce(
      signedIn(),
      { type: 'sendQueued', message: pending('hello') },
      { type: 'messagesReceived', room: 'lobby', messages: [stored] },
    );
    expect(currentRoom(state).messages).toEqual([stored]);
    expect(visiblePending(currentRoom(state))).toEqual([]);
    state = chatReducer(state, { type: 'sendSucceeded', room: 'lobby', clientId: 'client-0001', message: stored });
    expect(currentRoom(state).messages).toEqual([stored]);
    expect(currentRoom(state).pending).toEqual([]);
  });

  it('does not take someone else’s identical text for the echo', () => {
    const state = reduce(
      signedIn(),
      { type: 'sendQueued', message: pending('hi') },
      { type: 'messagesReceived', room: 'lobby', messages: [msg(1, bob, 'lobby', 'hi')] },
    );
    expect(visiblePending(currentRoom(state))).toHaveLength(1);
  });

  it('marks a failed send with its reason, and a retry makes it pending again with the same clientId', () => {
    let state = reduce(
      signedIn(),
      { type: 'sendQueued', message: pending('too fast') },
      {
        type: 'sendFailed',
        room: 'lobby',
        clientId: 'client-0001',
        error: { code: 'rate_limited', message: 'too many messages; retry in 0.2 s' },
      },
    );
    expect(currentRoom(state).pending).toEqual([
      expect.objectContaining({ clientId: 'client-0001', status: 'failed', error: { code: 'rate_limited', message: 'too many messages; retry in 0.2 s' } }),
    ]);
    state = chatReducer(state, { type: 'sendRetried', room: 'lobby', clientId: 'client-0001' });
    expect(currentRoom(state).pending).toEqual([expect.objectContaining({ clientId: 'client-0001', status: 'pending', error: undefined })]);
    state = chatReducer(state, { type: 'sendDiscarded', room: 'lobby', clientId: 'client-0001' });
    expect(currentRoom(state).pending).toEqual([]);
  });

  it('shows a failed message again even if an identical one from another tab looked like its echo', () => {
    const state = reduce(
      signedIn(),
      { type: 'sendQueued', message: pending('same') },
      { type: 'messagesReceived', room: 'lobby', messages: [msg(1, ada, 'lobby', 'same')] },
      { type: 'sendFailed', room: 'lobby', clientId: 'client-0001', error: { code: 'unavailable', message: 'down' } },
    );
    expect(visiblePending(currentRoom(state))).toEqual([expect.objectContaining({ status: 'failed' })]);
  });
});

describe('chatReducer: presence and typing', () => {
  it('keeps members per room; counts come from presence, else from the directory', () => {
    const state = reduce(
      signedIn(),
      { type: 'presenceUpdated', room: 'lobby', members: [ada, bob] },
      { type: 'directoryLoaded', rooms: [{ room: 'lobby', members: 5 }, { room: 'other', members: 3 }] },
    );
    expect(state.rooms.lobby!.members).toEqual([ada, bob]);
    expect(memberCount(state, 'lobby')).toBe(2);
    expect(memberCount(state, 'other')).toBe(3);
    expect(memberCount(state, 'unknown')).toBeNull();
  });

  it('shows others typing until they stop, send, leave, or the indicator expires', () => {
    const carol = { id: 'user-carol-01', name: 'Carol' };
    let state = reduce(
      signedIn(),
      { type: 'typingUpdated', room: 'lobby', user: bob, typing: true, now: 1_000 },
      { type: 'typingUpdated', room: 'lobby', user: carol, typing: true, now: 2_000 },
      { type: 'typingUpdated', room: 'lobby', user: ada, typing: true, now: 2_000 }, // our other tab
    );
    expect(currentRoom(state).typing.map((entry) => entry.user.name)).toEqual(['Bob', 'Carol']);

    // Bob's message ends his indicator.
    state = chatReducer(state, { type: 'messagesReceived', room: 'lobby', messages: [msg(1, bob)] });
    expect(currentRoom(state).typing.map((entry) => entry.user.name)).toEqual(['Carol']);

    // A refresh re-arms the expiry; without one it lapses after TYPING_DISPLAY_MS.
    state = chatReducer(state, { type: 'typingUpdated', room: 'lobby', user: carol, typing: true, now: 5_000 });
    expect(chatReducer(state, { type: 'typingExpired', now: 5_000 + TYPING_DISPLAY_MS - 1 })).toBe(state);
    expect(currentRoom(chatReducer(state, { type: 'typingExpired', now: 5_000 + TYPING_DISPLAY_MS })).typing).toEqual([]);

    // typing: false, or leaving the room, ends it as well.
    expect(currentRoom(chatReducer(state, { type: 'typingUpdated', room: 'lobby', user: carol, typing: false, now: 6_000 })).typing).toEqual([]);
    expect(currentRoom(chatReducer(state, { type: 'presenceUpdated', room: 'lobby', members: [ada] })).typing).toEqual([]);
  });
});
