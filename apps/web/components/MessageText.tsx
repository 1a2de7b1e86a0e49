import { linkify } from '../lib/linkify';

/**
 * Message text as React text nodes, with http(s) URLs as links opening in a new tab. Never HTML:
 * `<b>` in a message is shown as the characters `<b>`.
 */
export function MessageText({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} target="_blank" rel="noopener noreferrer nofollow">
            {part.text}
          </a>
        ) : (
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}
