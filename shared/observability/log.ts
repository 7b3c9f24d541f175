/** Structured fields attached to a log line; never put secrets here. */
export type LogFields = Record<string, unknown>;

/** The logging surface domain code needs: Powertools Logger in Lambda, a readable console logger locally. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A log that drops everything (tests that do not look at logs). */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** A log that keeps every line in memory, for tests that assert on log output. */
export class MemoryLog implements Log {
  readonly lines: { level: string; message: string; fields?: LogFields }[] = [];
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  /** Every line as text, fields included, for "never leaks" assertions. */
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields ?? {})}`).join('\n');
  }
}
