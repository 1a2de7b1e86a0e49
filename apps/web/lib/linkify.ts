export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const urlPattern = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Punctuation that usually ends a sentence rather than a URL. */
const trailingPunctuation = /[.,;:!?*]+$/;
const closers: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** The URL as an href if its scheme is http or https, else null. */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Drops trailing punctuation and unbalanced closing brackets: `(see https://x.org/a).` -> `https://x.org/a`. */
function trimUrl(raw: string): string {
  let url = raw;
  for (;;) {
    const trimmed = url.replace(trailingPunctuation, '');
    const last = trimmed.at(-1);
    const opener = last ? closers[last] : undefined;
    if (opener && count(trimmed, last!) > count(trimmed, opener)) {
      url = trimmed.slice(0, -1);
      continue;
    }
    if (trimmed === url) return url;
    url = trimmed;
  }
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/**
 * Splits message text into plain text and http(s) links. The result is data, rendered as React
 * text nodes and anchors: no HTML is ever parsed, so `<b>` stays the four characters `<b>`.
 */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    const raw = trimUrl(match[0]);
    const href = safeHref(raw);
    if (!href || raw.length <= 'https://'.length) continue;
    const start = match.index;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}
