import { ConfigError, type SourceLocation } from './errors.js';
import { Lexer, type Word } from './lexer.js';

/**
 * A generic directive, `name arg...;` or `name arg... { children }`, exactly as written.
 * Nothing here knows what a directive means; that is compile.ts's job.
 */
export interface Directive extends SourceLocation {
  readonly name: string;
  /** The arguments after the name, unescaped. */
  readonly args: readonly string[];
  /** The same arguments with their quoting and start line. */
  readonly words: readonly Word[];
  /** Present for `name ... { }` blocks (possibly empty), absent for `name ...;`. */
  readonly children?: readonly Directive[];
  /** Line of the block's closing `}` (nginx reports some block checks there). */
  readonly endLine?: number;
}

/** Parses a whole file. `text` is latin1, one char per byte. */
export function parseConfig(text: string, file: string): Directive[] {
  const lexer = new Lexer(text, file);
  return parseBlock(lexer, file, false).children;
}

function parseBlock(
  lexer: Lexer,
  file: string,
  inBlock: boolean,
): { children: Directive[]; endLine: number } {
  const children: Directive[] = [];
  for (;;) {
    const st = lexer.next();
    if (st.kind === 'eof') {
      if (inBlock) throw new ConfigError('unexpected end of file, expecting "}"', file, st.line);
      return { children, endLine: st.line };
    }
    if (st.kind === 'close') {
      if (!inBlock) throw new ConfigError('unexpected "}"', file, st.line);
      return { children, endLine: st.line };
    }
    const [nameWord, ...argWords] = st.words;
    // The lexer never returns a directive without words.
    const name = nameWord?.text ?? '';
    const base = { name, args: argWords.map((w) => w.text), words: argWords, file, line: st.line };
    if (st.opensBlock) {
      const block = parseBlock(lexer, file, true);
      children.push({ ...base, children: block.children, endLine: block.endLine });
    } else {
      children.push(base);
    }
  }
}
