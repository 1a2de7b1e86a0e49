import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError, configError, type SourceLocation } from './errors.js';
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

/** Where `include` looks: relative patterns resolve against the main file's directory. */
interface IncludeContext {
  readonly prefix: string;
  readonly depth: number;
}

const MAX_INCLUDE_DEPTH = 32;

/**
 * Parses a whole file. `text` is latin1, one char per byte. `include FILE|GLOB;` is expanded
 * in place, as nginx's ngx_conf_include does, so the included directives are checked in the
 * context of the include; paths are relative to the main file's directory.
 */
export function parseConfig(text: string, file: string, include: IncludeContext = { prefix: dirname(file), depth: 0 }): Directive[] {
  const lexer = new Lexer(text, file);
  return parseBlock(lexer, file, false, include).children;
}

function parseBlock(
  lexer: Lexer,
  file: string,
  inBlock: boolean,
  include: IncludeContext,
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
    if (name === 'include' && !st.opensBlock) {
      if (base.args.length !== 1) throw new ConfigError('invalid number of arguments in "include" directive', file, st.line);
      children.push(...expandInclude(base.args[0] as string, base, include));
      continue;
    }
    if (st.opensBlock) {
      const block = parseBlock(lexer, file, true, include);
      children.push({ ...base, children: block.children, endLine: block.endLine });
    } else {
      children.push(base);
    }
  }
}

/** ngx_conf_include(): every file the pattern names, sorted, parsed in place. */
function expandInclude(pattern: string, at: SourceLocation, include: IncludeContext): Directive[] {
  if (include.depth >= MAX_INCLUDE_DEPTH) throw configError(`include nesting is too deep for "${pattern}"`, at);
  const path = isAbsolute(pattern) ? pattern : join(include.prefix, pattern);
  const files = hasGlob(path) ? globFiles(path) : [path];
  const out: Directive[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      const reason = err instanceof Error ? err.message.split(', ')[0] : String(err);
      throw configError(`open() "${file}" failed (${reason})`, at);
    }
    out.push(...parseConfig(text, file, { prefix: include.prefix, depth: include.depth + 1 }));
  }
  return out;
}

const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** glob(3) for `*`, `?` and `[...]` in any path segment; no match is not an error (as in nginx). */
function globFiles(pattern: string): string[] {
  const segments = pattern.split('/');
  let paths = [segments[0] === '' ? '/' : (segments[0] as string)];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg === '') continue;
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const dir of paths) {
      if (!hasGlob(seg)) {
        next.push(join(dir, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const full = join(dir, name);
        if (last ? isFile(full) : isDirectory(full)) next.push(full);
      }
    }
    paths = next;
  }
  return paths;
}

function segmentRegex(seg: string): RegExp {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i] as string;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        let body = seg.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else out += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${out}$`);
  } catch {
    // A bracket glob(3) cannot match, such as `[z-a]`: like nginx, the pattern matches nothing.
    return /(?!)/;
  }
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
