import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { STAND_IN_TOKEN } from '../support/github-stand-in.js'
import { SECRETS } from './relay-harness.js'

/** The CLI, run from its TypeScript sources through tsx. */
export const CLI = fileURLToPath(new URL('../../src/relay/cli.ts', import.meta.url))

export interface RelayProcess {
  child: ChildProcess
  url: string
  /** Every log line so far. */
  lines: string[]
  exited: Promise<number | null>
}

/** Starts `hookchain-relay serve` as its own process (from the TypeScript sources) and waits until it listens. */
export async function spawnRelay(
  args: string[],
  env: Record<string, string> = {},
): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...args],
    {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const lines: string[] = []
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        lines.push(line)
        const match = /listening on (http:\/\/\S+?)"/.exec(line)
        if (match?.[1]) resolve(match[1])
        newline = buffer.indexOf('\n')
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')))
    void exited.then((code) =>
      reject(new Error(`the relay exited with ${code} before listening:\n${lines.join('\n')}`)),
    )
    setTimeout(
      () => reject(new Error(`the relay did not listen within 20 s:\n${lines.join('\n')}`)),
      20_000,
    ).unref()
  })
  // A relay that never listened is not left running when the test gives up on it.
  const url = await listening.catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })
  return { child, url, lines, exited }
}

/**
 * A relay the test means to kill: its lease is short, so that the jobs it had claimed come back to
 * the relays left (or to the next one started) within the test.
 */
export function spawnKillableRelay(configFile: string, databaseUrl: string): Promise<RelayProcess> {
  return spawnRelay(['--config', configFile, '--database', databaseUrl], {
    HOOKCHAIN_LEASE_MS: '2000',
  })
}

export interface RelayConfig {
  githubUrl: string
  /** The one host:port registry callbacks may go to, over plain HTTP; none when absent. */
  registryCallbackHost?: string
  /** The `release` chain's step_timeout, as the file spells it: `10m`, `1s`. */
  stepTimeout: string
  /** The `release` chain's steps, each a repository_dispatch. */
  dispatches: { repository: string; eventType: string }[]
  /**
   * The rest of the `release` chain as YAML, indented for its keys (four spaces): `steps` with
   * groups or approvals, `on_failure`, `notify`. Given, it replaces the steps of `dispatches`.
   */
  chain?: string
  /** `github.writes_per_minute`; default 0 (unpaced). */
  writesPerMinute?: number
}

/** Writes a config file for `spawnRelay`: Docker Hub pushes of svendowideit/testhook start `release`. */
export function writeRelayConfig(file: string, config: RelayConfig): void {
  const registryCallbacks = config.registryCallbackHost
    ? `registry_callbacks:
  allowed_hosts: ['${config.registryCallbackHost}']
  allow_http: true
`
    : ''
  const steps = config.dispatches
    .map((d) => `      - dispatch: { repository: ${d.repository}, event_type: ${d.eventType} }\n`)
    .join('')
  writeFileSync(
    file,
    `public_url: http://relay.test
admin_token: ${SECRETS.admin}
github:
  api_url: ${config.githubUrl}
  token: ${STAND_IN_TOKEN}
  writes_per_minute: ${config.writesPerMinute ?? 0}
sources:
  dockerhub:
    secret: ${SECRETS.dockerhub}
${registryCallbacks}chains:
  - name: release
    match: { repository: svendowideit/testhook }
    step_timeout: ${config.stepTimeout}
${config.chain ?? `    steps:\n${steps}`}`,
  )
}

/** The JSON log lines a relay process has written so far, parsed; other output is left out. */
export function logLines(relay: RelayProcess): Record<string, unknown>[] {
  return relay.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
}
