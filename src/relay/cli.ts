#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { getErrorMessage } from '../shared/errors.js'
import { packageVersion, USAGE } from './commands/usage.js'
import type { Environment } from './config/substitute.js'

/** The options each command takes; any other is a usage error. */
const COMMANDS: Record<string, readonly string[]> = {
  serve: ['config', 'port', 'host', 'database'],
  check: ['config'],
  init: ['config', 'public-url', 'force', 'source'],
}

/** A mistake on the command line: exit status 2, the message and the usage on stderr. */
function usageError(message: string): number {
  console.error(`hookchain-relay: ${message}\n\n${USAGE}`)
  return 2
}

/**
 * Runs `hookchain-relay ARGV` and resolves with its exit status: for `serve`, once the relay has
 * stopped.
 */
export async function main(argv: string[], env: Environment = process.env): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions(argv)
  } catch (error) {
    return usageError(getErrorMessage(error))
  }
  const { values, positionals } = parsed
  if (values.version) {
    console.log(packageVersion())
    return 0
  }
  const [command, ...extra] = positionals
  if (values.help || command === 'help') {
    console.log(
      `hookchain-relay ${packageVersion()}: webhook chains for container registries\n\n${USAGE}`,
    )
    return 0
  }
  if (command === undefined) return usageError('which command? (serve starts the relay)')
  const allowed = COMMANDS[command]
  if (!allowed) return usageError(`unknown command "${command}"`)
  if (extra.length > 0) return usageError(`${command} takes no argument "${extra[0]}"`)
  const misplaced = Object.keys(values).find((name) => !allowed.includes(name))
  if (misplaced) return usageError(`--${misplaced} is not an option of ${command}`)

  // Each command loads what it needs, so that --help or a typo answers at once.
  const { configFileOf } = await import('./commands/config-file.js')
  const configFile = configFileOf(values.config, env)
  switch (command) {
    case 'check': {
      const { check } = await import('./commands/check.js')
      return check(configFile, env)
    }
    case 'init': {
      const { init } = await import('./commands/init.js')
      const force = values.force ?? false
      const sources = values.source?.flatMap((list) => list.split(',')).map((s) => s.trim())
      return init({ configFile, force, publicUrl: values['public-url'], sources }, env)
    }
    default: {
      const { serve } = await import('./commands/serve.js')
      const { port, host, database } = values
      return serve({ configFile, port, host, database }, env)
    }
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      database: { type: 'string' },
      'public-url': { type: 'string' },
      force: { type: 'boolean' },
      source: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  })
}

/** Run as a program (`node lib/relay/cli.js`, or its bin link), not imported. */
function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (!script) return false
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => exit(code),
    (error: unknown) => {
      console.error(`hookchain-relay: ${getErrorMessage(error)}`)
      exit(1)
    },
  )
}

/** Lets stdout drain and the process end by itself; whatever still holds it open gets a second. */
function exit(code: number): void {
  process.exitCode = code
  setTimeout(() => process.exit(code), 1_000).unref()
}
