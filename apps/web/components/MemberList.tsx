import type { User } from '@chat/protocol';
import { Avatar } from './Avatar';

interface MemberListProps {
  id: string;
  /** Phone and tablet layout: the panel is open. (Always shown on wide screens.) */
  open: boolean;
  members: readonly User[] | null;
  selfId: string | null;
}

/** Who is in the room in view right now (presence across all instances). */
export function MemberList({ id, open, members, selfId }: MemberListProps) {
  return (
    <aside id={id} className="members" data-open={open ? 'true' : 'false'} aria-labelledby="members-heading">
      <h2 id="members-heading">
        Online <span className="count">{members ? members.length : '…'}</span>
      </h2>
      {members && (
        <ul className="member-list" aria-label="Online members">
          {members.map((member) => (
            <li key={member.id} className="member">
              <Avatar user={member} />
              <span className="member-name">{member.name}</span>
              {member.id === selfId && <span className="member-you">(you)</span>}
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
