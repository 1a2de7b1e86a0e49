'use client';

import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { defaultRoom, type User } from '@chat/protocol';
import { currentRoom, memberCount, totalUnread, visiblePending } from '../lib/chatState';
import { buildTimeline } from '../lib/timeline';
import { useChat } from '../lib/useChat';
import { Composer } from './Composer';
import { ConnectionBadge } from './ConnectionBadge';
import { ConnectionBanner } from './ConnectionBanner';
import { MemberList } from './MemberList';
import { MessageList } from './MessageList';
import { NameForm } from './NameForm';
import { RoomSidebar, type SidebarRoom } from './RoomSidebar';
import { TypingIndicator } from './TypingIndicator';

/** At this width and up the room sidebar is always shown (see globals.css). */
const WIDE_NAV_QUERY = '(min-width: 48rem)';

function UserMenu({ name, className, onSignOut }: { name: string | null; className: string; onSignOut(): void }) {
  return (
    <div className={className}>
      <span className="user-name" title={`Signed in as ${name}`}>
        <span className="visually-hidden">Signed in as </span>
        {name}
      </span>
      <button type="button" className="secondary small" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}

/** Wires the chat state to the presentational components, and owns layout state (drawers, focus). */
export function Chat() {
  const { state, client, ready } = useChat();
  const [navOpen, setNavOpen] = useState(false);
  const [membersOpen, setMembersOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const navRef = useRef<HTMLElement>(null);
  const navToggleRef = useRef<HTMLButtonElement>(null);

  const unread = totalUnread(state);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Chat` : 'Chat';
  }, [unread]);

  // The drawer only exists on narrow screens: close it when the screen gets wide.
  useEffect(() => {
    const query = window.matchMedia(WIDE_NAV_QUERY);
    const onChange = () => {
      if (query.matches) setNavOpen(false);
    };
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  // Opening the drawer moves focus into it, on the room in view.
  useEffect(() => {
    if (navOpen) navRef.current?.querySelector<HTMLElement>('[aria-current="true"], button, input')?.focus();
  }, [navOpen]);

  const signedIn = state.name !== null && state.status !== 'refused';
  // The name form is revealed only once `ready`: focus its field then (autoFocus came too early).
  useEffect(() => {
    if (ready && !signedIn) document.getElementById('name')?.focus();
  }, [ready, signedIn]);

  const focusComposer = useCallback(() => {
    requestAnimationFrame(() => composerRef.current?.focus({ preventScroll: true }));
  }, []);

  const closeNav = useCallback((returnFocus: boolean) => {
    setNavOpen(false);
    if (returnFocus) navToggleRef.current?.focus();
  }, []);

  const room = currentRoom(state);
  const sessionUser = state.session?.user ?? null;
  const self: User | null = useMemo(
    () => sessionUser ?? (state.userId && state.name ? { id: state.userId, name: state.name } : null),
    [sessionUser, state.userId, state.name],
  );
  const timeline = useMemo(() => buildTimeline(room.messages, visiblePending(room), self), [room, self]);
  const loadOlder = useCallback(() => void client.loadOlder(room.room), [client, room.room]);
  const retry = useCallback((clientId: string) => client.retry(room.room, clientId), [client, room.room]);
  const discard = useCallback((clientId: string) => client.discard(room.room, clientId), [client, room.room]);

  const sidebarRooms: SidebarRoom[] = state.openRooms.map((name) => ({
    room: name,
    members: memberCount(state, name),
    unread: state.rooms[name]?.unread ?? 0,
  }));
  const otherRooms: SidebarRoom[] = (state.directory ?? [])
    .filter((summary) => !state.rooms[summary.room])
    .slice(0, 30)
    .map((summary) => ({ room: summary.room, members: summary.members, unread: 0 }));

  if (!signedIn) {
    return (
      <div className="app">
        <header className="app-header">
          <h1 className="app-title">Chat</h1>
        </header>
        <main id="main" className="signin" data-ready={ready ? 'true' : 'false'}>
          <NameForm
            onSubmit={(name) => {
              client.signIn(name);
              focusComposer();
            }}
            initialName={state.name ?? ''}
            serverError={state.status === 'refused' ? state.error : null}
          />
        </main>
      </div>
    );
  }

  const onlineCount = room.members?.length ?? null;
  const typingUsers = room.typing.map((entry) => entry.user);

  function handleKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key !== 'Escape') return;
    if (navOpen) closeNav(true);
    else if (membersOpen) setMembersOpen(false);
  }

  return (
    <div className="app" onKeyDown={handleKeyDown}>
      <a className="skip-link" href="#message">
        Skip to the message field
      </a>
      <header className="app-header">
        <button
          type="button"
          ref={navToggleRef}
          className="ghost icon-button nav-toggle"
          aria-expanded={navOpen}
          aria-controls="sidebar"
          onClick={() => (navOpen ? closeNav(false) : setNavOpen(true))}
        >
          <span className="hamburger" aria-hidden="true" />
          <span className="visually-hidden">Rooms</span>
          {unread > 0 && (
            <span className="badge badge-corner">
              {unread > 99 ? '99+' : unread}
              <span className="visually-hidden"> unread</span>
            </span>
          )}
        </button>
        <h1 className="app-title">Chat</h1>
        <ConnectionBadge status={state.status} transport={state.transport} instance={state.session?.instance ?? null} />
        <UserMenu name={state.name} className="user-menu user-menu-header" onSignOut={client.signOut} />
      </header>
      <ConnectionBanner status={state.status} error={state.error} onReconnect={client.reconnect} />
      <div className="layout" data-nav-open={navOpen ? 'true' : 'false'}>
        <RoomSidebar
          id="sidebar"
          navRef={navRef}
          footer={<UserMenu name={state.name} className="user-menu user-menu-drawer" onSignOut={client.signOut} />}
          open={navOpen}
          current={state.current}
          rooms={sidebarRooms}
          others={otherRooms}
          onSelect={(name) => {
            client.selectRoom(name);
            closeNav(false);
            focusComposer();
          }}
          onJoin={(name) => {
            client.openRoom(name);
            closeNav(false);
            focusComposer();
          }}
          onClose={() => closeNav(true)}
        />
        {navOpen && <div className="backdrop" aria-hidden="true" onClick={() => closeNav(true)} />}
        <main id="main" className="room" inert={navOpen || undefined}>
          <div className="room-header">
            <h2 className="room-title">
              <span className="room-hash" aria-hidden="true">
                #
              </span>
              {room.room}
            </h2>
            <button
              type="button"
              className="ghost small members-toggle"
              aria-expanded={membersOpen}
              aria-controls="members"
              onClick={() => setMembersOpen((open) => !open)}
            >
              <span className="room-members-dot" aria-hidden="true" />
              {onlineCount ?? '…'} online
            </button>
            {room.room !== defaultRoom && (
              <button type="button" className="ghost small" onClick={() => client.closeRoom(room.room)}>
                Leave<span className="visually-hidden"> #{room.room}</span>
              </button>
            )}
          </div>
          {room.error && (
            <p className="error room-error" role="alert">
              {room.error}
            </p>
          )}
          <MessageList
            key={room.room}
            room={room.room}
            entries={timeline}
            loaded={room.loaded}
            hasOlder={room.hasOlder}
            loadingOlder={room.loadingOlder}
            onLoadOlder={loadOlder}
            onRetry={retry}
            onDiscard={discard}
          />
          <TypingIndicator users={typingUsers} />
          <Composer
            room={room.room}
            inputRef={composerRef}
            onSend={client.send}
            onTextChange={client.composerChanged}
            onBlur={client.composerBlurred}
          />
        </main>
        <MemberList id="members" open={membersOpen} members={room.members} selfId={self?.id ?? null} />
      </div>
    </div>
  );
}
