/** "Ada is typing…", "Ada and Bob are typing…", "Ada, Bob and 2 others are typing…"; null for nobody. */
export function typingSentence(names: readonly string[]): string | null {
  const [first, second, third] = names;
  if (first === undefined) return null;
  if (second === undefined) return `${first} is typing…`;
  if (third === undefined) return `${first} and ${second} are typing…`;
  if (names.length === 3) return `${first}, ${second} and ${third} are typing…`;
  return `${first}, ${second} and ${names.length - 2} others are typing…`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const yearDayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

export function formatTime(ts: number): string {
  return timeFormat.format(ts);
}

export function formatFullTime(ts: number): string {
  return fullFormat.format(ts);
}

/** "Today", "Yesterday", "Monday, June 3", or with the year when it is not this year. */
export function formatDay(ts: number, now: number = Date.now()): string {
  const day = new Date(ts);
  const today = new Date(now);
  const startOf = (date: Date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  const days = Math.round((startOf(today) - startOf(day)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return day.getFullYear() === today.getFullYear() ? dayFormat.format(ts) : yearDayFormat.format(ts);
}

/** A user-facing line for a failed send. */
export function describeSendError(error: { code: string; message: string }): string {
  switch (error.code) {
    case 'rate_limited':
      return `Rate limited: ${error.message}`;
    case 'unavailable':
      return 'The chat is temporarily unavailable; nothing was stored';
    case 'not_joined':
      return 'Not in this room yet';
    case 'timeout':
      return 'No answer from the server';
    case 'invalid':
      return `Rejected: ${error.message}`;
    default:
      return error.message;
  }
}
