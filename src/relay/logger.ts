import { createRequire } from 'node:module'
import { type DestinationStream, type Logger, pino } from 'pino'
import type PinoPretty from 'pino-pretty'

// Loaded only for readable lines: a relay logging JSON, as in production, never loads it.
const loadPretty = () => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty

/** `json`: one JSON line per entry, for log collectors. `pretty`: readable lines, for a terminal. */
export type LogFormat = 'json' | 'pretty'

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty']

/**
 * `LOG_FORMAT` when set (`json` or `pretty`); else readable lines when stdout is a terminal, and
 * JSON lines for anything else (a pipe, a file, a container's log). Null for another value.
 */
export function logFormat(
  value: string | undefined,
  stdoutIsTerminal: boolean = process.stdout.isTTY === true,
): LogFormat | null {
  if (value === undefined || value === '') return stdoutIsTerminal ? 'pretty' : 'json'
  return (LOG_FORMATS as readonly string[]).includes(value) ? (value as LogFormat) : null
}

/**
 * One entry per event and per step transition; secrets never reach these fields.
 *
 * JSON lines go to stdout asynchronously: a line is handed to the kernel while the relay goes on
 * serving, and the lines logged meanwhile go out together in the next write, rather than one
 * blocking write(2) per line on the request path. Whatever is still buffered is written
 * synchronously when the process exits (pino flushes its destination on `exit`), so a relay
 * stopped by a signal or `process.exit` loses no line; only a SIGKILL can lose the last few, and
 * those are log lines, never acknowledged events, which are committed before their 202.
 * Readable lines are written synchronously: a terminal is read by a person, not a collector.
 */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  format: LogFormat = 'json',
): Logger {
  const destination: DestinationStream =
    format === 'pretty'
      ? loadPretty()({
          destination: process.stdout.fd ?? 1,
          sync: true,
          colorize: process.stdout.isTTY === true,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
        })
      : pino.destination({ dest: process.stdout.fd ?? 1, sync: false })
  return pino(
    {
      level,
      base: { service: 'hookchain-relay' },
      redact: {
        paths: ['*.authorization', '*.token', '*.secret', '*.callbackUrl', '*.callback_url'],
        censor: '[redacted]',
      },
    },
    destination,
  )
}
