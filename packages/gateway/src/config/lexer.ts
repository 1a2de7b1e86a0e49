import { ConfigError } from './errors.js';

/** One argument of a directive, after nginx's escape processing. */
export interface Word {
  readonly text: string;
  /** The line the word starts on. */
  readonly line: number;
  /** Written in single or double quotes (`''` is an empty argument, not a missing one). */
  readonly quoted: boolean;
}

/**
 * What the lexer hands the parser: a directive's words up to its terminator, a closing brace,
 * or the end of the file. `line` is the line of the terminator, which is the line nginx
 * reports in every message about the directive.
 */
export type Statement =
  | { readonly kind: 'directive'; readonly words: readonly Word[]; readonly opensBlock: boolean; readonly line: number }
  | { readonly kind: 'close'; readonly line: number }
  | { readonly kind: 'eof'; readonly line: number };

const isSpace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';

/**
 * A port of nginx's ngx_conf_read_token(): same states, same escapes, same errors, so that a
 * file is split into the same words by both engines. The text is a latin1 ("binary") string,
 * one char per byte, so values reach the wire byte for byte.
 */
export class Lexer {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  next(): Statement {
    const src = this.text;
    const words: Word[] = [];
    let needSpace = false;
    let lastSpace = true;
    let sharpComment = false;
    let variable = false;
    let quoted = false;
    let sQuoted = false;
    let dQuoted = false;
    let start = this.pos;
    let startLine = this.line;

    for (;;) {
      if (this.pos >= src.length) {
        if (words.length > 0 || !lastSpace) {
          throw this.error('unexpected end of file, expecting ";" or "}"');
        }
        return { kind: 'eof', line: this.line };
      }

      const ch = src[this.pos++] as string;

      if (ch === '\n') {
        this.line++;
        sharpComment = false;
      }
      if (sharpComment) continue;
      if (quoted) {
        quoted = false;
        continue;
      }

      if (needSpace) {
        if (isSpace(ch)) {
          lastSpace = true;
          needSpace = false;
          continue;
        }
        if (ch === ';' || ch === '{') return this.directive(words, ch === '{');
        if (ch !== ')') throw this.error(`unexpected "${ch}"`);
        // `)` after a quoted word (as in `if ($a = "b")`) starts a new word.
        lastSpace = true;
        needSpace = false;
      }

      if (lastSpace) {
        if (isSpace(ch)) continue;
        start = this.pos - 1;
        startLine = this.line;
        switch (ch) {
          case ';':
          case '{':
            if (words.length === 0) throw this.error(`unexpected "${ch}"`);
            return this.directive(words, ch === '{');
          case '}':
            if (words.length !== 0) throw this.error('unexpected "}"');
            return { kind: 'close', line: this.line };
          case '#':
            sharpComment = true;
            continue;
          case '\\':
            quoted = true;
            lastSpace = false;
            continue;
          case '"':
            start++;
            dQuoted = true;
            lastSpace = false;
            continue;
          case "'":
            start++;
            sQuoted = true;
            lastSpace = false;
            continue;
          case '$':
            variable = true;
            lastSpace = false;
            continue;
          default:
            lastSpace = false;
        }
        continue;
      }

      // Inside a word. `${` keeps the brace in the word instead of opening a block.
      if (ch === '{' && variable) continue;
      variable = false;
      if (ch === '\\') {
        quoted = true;
        continue;
      }
      if (ch === '$') {
        variable = true;
        continue;
      }

      let found = false;
      let wasQuoted = false;
      if (dQuoted) {
        if (ch === '"') {
          dQuoted = false;
          needSpace = true;
          found = wasQuoted = true;
        }
      } else if (sQuoted) {
        if (ch === "'") {
          sQuoted = false;
          needSpace = true;
          found = wasQuoted = true;
        }
      } else if (isSpace(ch) || ch === ';' || ch === '{') {
        lastSpace = true;
        found = true;
      }

      if (found) {
        words.push({ text: unescape(src.slice(start, this.pos - 1)), line: startLine, quoted: wasQuoted });
        if (ch === ';' || ch === '{') return this.directive(words, ch === '{');
      }
    }
  }

  private directive(words: Word[], opensBlock: boolean): Statement {
    return { kind: 'directive', words, opensBlock, line: this.line };
  }

  private error(detail: string): ConfigError {
    return new ConfigError(detail, this.file, this.line);
  }
}

/** nginx's escapes: `\"` `\'` `\\` drop the backslash, `\n` `\r` `\t` become control chars. */
function unescape(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i] as string;
    if (ch === '\\') {
      const next = raw[i + 1];
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i += 2;
        continue;
      }
      const control = next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : undefined;
      if (control !== undefined) {
        out += control;
        i += 2;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return out;
}
