import type { Log, LogFields } from '../shared/observability/log';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** A readable one-line-per-event log for the local runtime: `12:00:01.234 WARN  message`. */
export function consoleLog(
  minimum: Level = 'info',
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Log {
  const emit = (level: Level) => (message: string, fields?: LogFields) => {
    if (LEVELS[level] < LEVELS[minimum]) return;
    const time = new Date().toISOString().slice(11, 23);
    const error =
      level === 'error' || level === 'warn' ? (fields?.error ? ` (${String(fields.error).split('\n')[0]})` : '') : '';
    write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${error}`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
