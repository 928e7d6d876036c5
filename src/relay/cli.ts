#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { getErrorMessage } from '../shared/errors.js'
import { loadSettings, settingsWarnings } from './config/load.js'
import { ConfigError, formatConfigProblems } from './config/problems.js'
import { createLogger } from './logger.js'
import { startRelay } from './main.js'
import { DEFAULT_DATABASE_URL } from './store/open-store.js'

const USAGE = `Usage:
  hookchain-relay serve [--config FILE] [--port N] [--host ADDRESS] [--database URL]
  hookchain-relay check [--config FILE]

  --config    the YAML config (default: $HOOKCHAIN_CONFIG or ./hookchain.yml)
  --port      where to listen (default: $PORT or 8080)
  --host      the address to listen on (default: $HOST or 0.0.0.0)
  --database  sqlite:./data/hookchain.db (default, or $DATABASE_URL) or postgres://user@host/db`

export async function main(argv: string[], env = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      database: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const command = positionals[0] ?? 'serve'
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (command !== 'serve' && command !== 'check') {
    console.error(`hookchain-relay: unknown command "${command}"\n\n${USAGE}`)
    return 2
  }
  const configFile = values.config ?? env.HOOKCHAIN_CONFIG ?? './hookchain.yml'
  let settings: ReturnType<typeof loadSettings>
  try {
    settings = loadSettings(configFile, env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(formatConfigProblems(configFile, error.problems))
      console.error(
        `${configFile}: ${error.problems.length} problem(s); the relay does not start with this config.`,
      )
      return 1
    }
    console.error(`hookchain-relay: cannot read ${configFile}: ${getErrorMessage(error)}`)
    return 1
  }
  if (command === 'check') {
    for (const warning of settingsWarnings(settings))
      console.log(`${configFile}: warning: ${warning}`)
    console.log(
      `${configFile}: OK (${settings.chains.length} chain(s), sources: ${Object.keys(settings.sources).join(', ') || 'none'})`,
    )
    return 0
  }

  const port = Number(values.port ?? env.PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(
      `hookchain-relay: --port must be a whole number from 0 to 65535, not "${values.port ?? env.PORT}"`,
    )
    return 2
  }
  const logger = createLogger()
  for (const warning of settingsWarnings(settings)) logger.warn(warning)
  const leaseMs = env.HOOKCHAIN_LEASE_MS ? Number(env.HOOKCHAIN_LEASE_MS) : undefined
  if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 1000)) {
    console.error(
      'hookchain-relay: HOOKCHAIN_LEASE_MS must be a whole number of milliseconds, at least 1000',
    )
    return 2
  }
  const relay = await startRelay({
    settings,
    port,
    host: values.host ?? env.HOST,
    databaseUrl: values.database ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    logger,
    outbox: { leaseMs },
    // Every acknowledged event is committed: a restart loses nothing, while a relay whose store
    // is gone would only answer 500 and 503 until someone noticed.
    onStoreFailure: (error) => {
      logger.fatal({ err: error }, 'the store stopped working (%s): exiting', error.message)
      process.exit(1)
    },
  })
  const stop = (signal: string) => {
    logger.info('%s: finishing the work in flight, then stopping', signal)
    relay.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'stopping failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  return -1
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (error) => {
    console.error(`hookchain-relay: ${getErrorMessage(error)}`)
    process.exitCode = 1
  },
)
