// The logger: pino, one event per line, JSON or logfmt, with the token redacted as a safety net.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogFormat, LogLevel } from './config/schema.js';

export type { Logger };

/** Paths pino blanks out. The real guard is that the token never leaves the client's closure. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'headers["wolkvox-token"]',
  '*.headers["wolkvox-token"]',
  'req.headers.authorization',
];

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text === '' || /[\s"=\\]/.test(text) ? JSON.stringify(text) : text;
}

/** One JSON log line as logfmt: `ts=… level=info msg="…" key=value`, nested objects flattened with dots. */
export function toLogfmt(record: Record<string, unknown>): string {
  const pairs: string[] = [];
  const add = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) add(prefix === '' ? key : `${prefix}.${key}`, inner);
    } else if (value !== undefined) {
      pairs.push(`${prefix}=${logfmtValue(value)}`);
    }
  };
  const { ts, level, msg, ...rest } = record;
  add('ts', ts);
  add('level', level);
  add('msg', msg);
  for (const [key, value] of Object.entries(rest)) add(key, value);
  return `${pairs.join(' ')}\n`;
}

function logfmtStream(destination: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      destination.write(toLogfmt(JSON.parse(line) as Record<string, unknown>));
    },
  };
}

export type LoggerOptions = { level: LogLevel; format: LogFormat };

/** A logger writing to `destination` (stderr by default; tests pass a capturing stream). */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const target = destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: options.level,
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    options.format === 'logfmt' ? logfmtStream(target) : target,
  );
}
