import { describe, expect, it } from 'vitest';
import { typingSentence } from '../lib/format';
import { TYPING_REFRESH_MS, TypingNotifier } from '../lib/typing';

function notifier() {
  let now = 0;
  const sent: [string, boolean][] = [];
  const typing = new TypingNotifier((room, value) => sent.push([room, value]), () => now);
  return { typing, sent, advance: (ms: number) => (now += ms) };
}

describe('TypingNotifier', () => {
  it('sends true at the first keystroke, then at most once per refresh period', () => {
    const { typing, sent, advance } = notifier();
    typing.input('lobby', 'h');
    advance(100);
    typing.input('lobby', 'he');
    advance(TYPING_REFRESH_MS - 100);
    typing.input('lobby', 'hel');
    expect(sent).toEqual([
      ['lobby', true],
      ['lobby', true],
    ]);
  });

  it('sends false once when the text is cleared or sent, and nothing when it was not on', () => {
    const { typing, sent } = notifier();
    typing.stop();
    typing.input('lobby', '   ');
    expect(sent).toEqual([]);
    typing.input('lobby', 'hi');
    typing.input('lobby', '');
    typing.stop();
    expect(sent).toEqual([
      ['lobby', true],
      ['lobby', false],
    ]);
  });

  it('moves the indicator when the user switches rooms', () => {
    const { typing, sent } = notifier();
    typing.input('lobby', 'a');
    typing.input('side', 'ab');
    expect(sent).toEqual([
      ['lobby', true],
      ['lobby', false],
      ['side', true],
    ]);
  });

  it('forgets the indicator after a disconnect without sending anything', () => {
    const { typing, sent } = notifier();
    typing.input('lobby', 'a');
    typing.reset();
    typing.stop();
    typing.input('lobby', 'ab');
    expect(sent).toEqual([
      ['lobby', true],
      ['lobby', true],
    ]);
  });
});

describe('typingSentence', () => {
  it('names up to three people, then counts the rest', () => {
    expect(typingSentence([])).toBeNull();
    expect(typingSentence(['Ada'])).toBe('Ada is typing…');
    expect(typingSentence(['Ada', 'Bob'])).toBe('Ada and Bob are typing…');
    expect(typingSentence(['Ada', 'Bob', 'Cy'])).toBe('Ada, Bob and Cy are typing…');
    expect(typingSentence(['Ada', 'Bob', 'Cy', 'Dee', 'Eve'])).toBe('Ada, Bob and 3 others are typing…');
  });
});
