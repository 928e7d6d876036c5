import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import type { Environment } from '../config/substitute.js'
import { settingsWarnings } from '../config/warnings.js'
import { createLogger, LOG_FORMATS, logFormat } from '../logger.js'
import { type Relay, startRelay } from '../main.js'
import { DEFAULT_DATABASE_URL } from '../store/open-store.js'
import { readConfig } from './config-file.js'

export interface ServeOptions {
  configFile: string
  port?: string
  host?: string
  database?: string
}

/** A second Ctrl-C within this time is the same one, delivered by npm as well as the terminal. */
const REPEAT_SIGNAL_MS = 1_000

/**
 * `hookchain-relay serve`: resolves with the exit status once the relay has stopped (0 after
 * SIGTERM or SIGINT), or at once with 1 or 2 when it cannot start.
 */
export async function serve(options: ServeOptions, env: Environment): Promise<number> {
  const settings = readConfig(options.configFile, env)
  if (settings === null) return 1

  const portText = options.port ?? (env.PORT || undefined) ?? '8080'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) {
    console.error(
      `hookchain-relay: --port (or PORT) must be a whole number from 0 to 65535, not "${portText}"`,
    )
    return 2
  }
  const format = logFormat(env.LOG_FORMAT)
  if (format === null) {
    console.error(
      `hookchain-relay: LOG_FORMAT must be ${LOG_FORMATS.join(' or ')}, not "${env.LOG_FORMAT}"`,
    )
    return 2
  }
  const leaseMs = env.HOOKCHAIN_LEASE_MS ? Number(env.HOOKCHAIN_LEASE_MS) : undefined
  if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 1000)) {
    console.error(
      'hookchain-relay: HOOKCHAIN_LEASE_MS must be a whole number of milliseconds, at least 1000',
    )
    return 2
  }

  const logger = createLogger(env.LOG_LEVEL || 'info', format)
  for (const warning of settingsWarnings(settings)) logger.warn(warning)
  // Listened for before the relay starts: a signal that came first would kill the process.
  const signals = stopOnSignals(logger)
  let relay: Relay
  try {
    relay = await startRelay({
      settings,
      port,
      host: options.host ?? (env.HOST || undefined),
      databaseUrl: options.database ?? (env.DATABASE_URL || undefined) ?? DEFAULT_DATABASE_URL,
      logger,
      outbox: { leaseMs },
      // Every acknowledged event is committed: a restart loses nothing, while a relay whose store
      // is gone would only answer 500 and 503 until someone noticed.
      onStoreFailure: (error) => {
        logger.fatal({ err: error }, 'the store stopped working (%s): exiting', error.message)
        process.exit(1)
      },
    })
  } catch (error) {
    console.error(`hookchain-relay: ${getErrorMessage(error)}`)
    return 1
  }
  return signals.serving(relay)
}

/**
 * On SIGTERM or SIGINT, stops the relay gracefully (once it has started, if the signal came
 * during start-up); a second signal, later than the same keystroke's, stops at once.
 */
function stopOnSignals(logger: Logger): { serving(relay: Relay): Promise<number> } {
  let firstAt: number | null = null
  let relay: Relay | null = null
  let finish: (code: number) => void = () => {}
  const stopped = new Promise<number>((resolve) => {
    finish = resolve
  })
  const close = (started: Relay) =>
    started.close().then(
      () => {
        logger.info('stopped')
        finish(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stopping failed: %s', getErrorMessage(error))
        finish(1)
      },
    )
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt !== null) {
      if (Date.now() - firstAt < REPEAT_SIGNAL_MS) return
      logger.warn('%s again: stopping without waiting for the work in flight', signal)
      finish(1)
      return
    }
    firstAt = Date.now()
    logger.info('%s: finishing the work in flight, then stopping', signal)
    if (relay) void close(relay)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    serving(started) {
      relay = started
      if (firstAt !== null) void close(started)
      return stopped
    },
  }
}
