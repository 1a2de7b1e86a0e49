import { compareMessageIds, type Message } from '@chat/protocol';

/**
 * Adds `incoming` to `current`, keeping the list de-duplicated by id and ordered by id.
 * A message can arrive twice (our own one comes back both in the send ack and as `message:new`,
 * and a re-join after a reconnect repeats history). Returns `current` itself when nothing is new.
 */
export function mergeMessages(current: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  const seen = new Set(current.map((message) => message.id));
  const fresh = incoming.filter((message) => {
    if (seen.has(message.id)) return false;
    seen.add(message.id);
    return true;
  });
  if (fresh.length === 0) return current;
  return [...current, ...fresh].sort((a, b) => compareMessageIds(a.id, b.id));
}
