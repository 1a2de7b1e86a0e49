/**
 * A configuration problem, worded like nginx's own `[emerg]` messages so that an operator
 * (and the differential test suite) sees the same text from both engines.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /**
   * @param detail the message without location, e.g. `unknown directive "foo"`
   * @param file absolute path of the configuration file
   * @param line 1-based line; 0 when nginx itself reports no line (whole-file problems)
   */
  constructor(
    readonly detail: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(line > 0 ? `${detail} in ${file}:${line}` : detail);
  }
}

/** Where a directive or value came from, carried so that late checks can still name the line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export function configError(detail: string, at: SourceLocation): ConfigError {
  return new ConfigError(detail, at.file, at.line);
}
