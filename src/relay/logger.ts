import { type Logger, pino } from 'pino'

/**
 * One JSON line per event and per step transition; secrets never reach these fields.
 *
 * Lines go to stdout asynchronously: a line is handed to the kernel while the relay goes on
 * serving, and the lines logged meanwhile go out together in the next write, rather than one
 * blocking write(2) per line on the request path. Whatever is still buffered is written
 * synchronously when the process exits (pino flushes its destination on `exit`), so a relay
 * stopped by a signal or `process.exit` loses no line; only a SIGKILL can lose the last few, and
 * those are log lines, never acknowledged events, which are committed before their 202.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'hookchain-relay' },
      redact: {
        paths: ['*.authorization', '*.token', '*.secret', '*.callbackUrl', '*.callback_url'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: process.stdout.fd ?? 1, sync: false }),
  )
}
