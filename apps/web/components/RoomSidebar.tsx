'use client';

import type { ReactNode, Ref } from 'react';
import { JoinRoomForm } from './JoinRoomForm';

export interface SidebarRoom {
  room: string;
  /** Members present, when known. */
  members: number | null;
  unread: number;
}

interface RoomSidebarProps {
  id: string;
  /** Phone layout: the drawer is open. (Always shown on wider screens.) */
  open: boolean;
  current: string;
  /** The user's rooms: the socket stays joined to all of them. */
  rooms: readonly SidebarRoom[];
  /** Other rooms from the server's directory. */
  others: readonly SidebarRoom[];
  navRef?: Ref<HTMLElement>;
  /** Shown at the bottom of the drawer on phones (the header has no room for it there). */
  footer?: ReactNode;
  onSelect(room: string): void;
  onJoin(room: string): void;
  onClose(): void;
}

function RoomButton({ room, current, onClick }: { room: SidebarRoom; current: boolean; onClick(): void }) {
  return (
    <button type="button" className="room-item" aria-current={current ? 'true' : undefined} data-room={room.room} onClick={onClick}>
      <span className="room-hash" aria-hidden="true">
        #
      </span>
      <span className="room-name">{room.room}</span>
      {room.members !== null && (
        <span className="room-members" title={`${room.members} online`}>
          <span className="room-members-dot" aria-hidden="true" />
          {room.members}
          <span className="visually-hidden"> online</span>
        </span>
      )}
      {room.unread > 0 && (
        <span className="badge" data-testid="unread">
          {room.unread > 99 ? '99+' : room.unread}
          <span className="visually-hidden"> unread</span>
        </span>
      )}
    </button>
  );
}

/** The user's rooms with member counts and unread counts, other rooms, and the Room field. */
export function RoomSidebar({ id, open, current, rooms, others, navRef, footer, onSelect, onJoin, onClose }: RoomSidebarProps) {
  return (
    <nav id={id} ref={navRef} className="sidebar" data-open={open ? 'true' : 'false'} aria-labelledby="sidebar-heading">
      <div className="sidebar-head">
        <h2 id="sidebar-heading">Chats</h2>
        <button type="button" className="ghost icon-button sidebar-close" onClick={onClose}>
          <span aria-hidden="true">✕</span>
          <span className="visually-hidden">Close</span>
        </button>
      </div>
      <JoinRoomForm onJoin={onJoin} />
      <h3 className="sidebar-section">Your rooms</h3>
      <ul className="room-list">
        {rooms.map((room) => (
          <li key={room.room}>
            <RoomButton room={room} current={room.room === current} onClick={() => onSelect(room.room)} />
          </li>
        ))}
      </ul>
      {others.length > 0 && (
        <>
          <h3 className="sidebar-section">More rooms</h3>
          <ul className="room-list room-list-others">
            {others.map((room) => (
              <li key={room.room}>
                <RoomButton room={room} current={false} onClick={() => onJoin(room.room)} />
              </li>
            ))}
          </ul>
        </>
      )}
      {footer && <div className="sidebar-footer">{footer}</div>}
    </nav>
  );
}
