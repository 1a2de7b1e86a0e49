import type { User } from '@chat/protocol';

/** A hue derived from the user id, so one person keeps one colour everywhere. */
function hue(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}

export function Avatar({ user }: { user: User }) {
  const initial = [...user.name.trim()][0]?.toUpperCase() ?? '?';
  return (
    <span className="avatar" aria-hidden="true" style={{ backgroundColor: `hsl(${hue(user.id)} 55% 42%)` }}>
      {initial}
    </span>
  );
}
