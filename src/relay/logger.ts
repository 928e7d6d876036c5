import { type Logger, pino } from 'pino'

/** One JSON line per event and per step transition; secrets never reach these fields. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'hookchain-relay' },
    redact: {
      paths: ['*.authorization', '*.token', '*.secret', '*.callbackUrl', '*.callback_url'],
      censor: '[redacted]',
    },
  })
}
