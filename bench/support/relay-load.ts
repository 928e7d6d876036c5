// What the relay benchmarks share: the relay as users run it, and a registry's load on it.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { type GitHubStandIn, STAND_IN_TOKEN } from '../../test/support/github-stand-in.js'

export const root = join(import.meta.dirname, '..', '..')
export const SECRET = 'bench-dockerhub-secret-0123456789'
export const DURATION_S = 5
export const CONNECTIONS = 20

export const pushBody = JSON.parse(
  readFileSync(join(root, 'test/fixtures/sources/dockerhub-push.json'), 'utf8'),
)

/** A server as users run it: the compiled relay (`npm run build`), or a TypeScript script through tsx. */
export async function spawnServer(
  args: string[],
  env: Record<string, string> = {},
  cwd = root,
): Promise<{ child: ChildProcess; url: string }> {
  const loader = args[0]?.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, ...args], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      const match = /listening on (http:\/\/[^"\s]+)/.exec(buffer)
      if (!match?.[1]) return
      // From here on the server's log is drained unread: parsing it would load the process that
      // also runs the load generator, and measure the harness instead of the relay.
      child.stdout?.off('data', onData)
      child.stdout?.resume()
      resolve(match[1])
    }
    child.stdout?.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
  return { child, url }
}

/** The Node options `npm start` gives the relay (package.json's start script), such as V8's. */
export function startNodeOptions(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const words = String(scripts.start).split(/\s+/)
  return words.slice(words.indexOf('node') + 1, words.indexOf('lib/relay/cli.js'))
}

/** The compiled relay, as `npm start` runs it, on a port of its own; `cwd` a checkout's. */
export function spawnRelay(configFile: string, database: string, cwd = root) {
  return spawnServer(
    [
      ...startNodeOptions(),
      'lib/relay/cli.js',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--config',
      configFile,
      '--database',
      database,
    ],
    {},
    cwd,
  )
}

export async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** Every request a different push (its own delivery), as a registry would send them. */
export async function load(
  url: string,
  connections = CONNECTIONS,
  lane = 0,
): Promise<autocannon.Result> {
  let n = 0
  return autocannon({
    url: `${url}/hooks/dockerhub/${SECRET}`,
    method: 'POST',
    connections,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => {
          n++
          return {
            ...request,
            body: JSON.stringify({
              ...pushBody,
              push_data: { ...pushBody.push_data, tag: `v${lane}-${n}`, pushed_at: 1417566161 + n },
            }),
          }
        },
      },
    ],
  })
}

export function config(
  dir: string,
  github: GitHubStandIn,
  steps: number,
  writesPerMinute: number,
): string {
  const file = join(dir, `hookchain-${steps}-${writesPerMinute}.yml`)
  const step = '      - dispatch: { repository: acme/tests, event_type: image-pushed }\n'
  writeFileSync(
    file,
    `public_url: http://127.0.0.1:1
github:
  api_url: ${github.url}
  token: ${STAND_IN_TOKEN}
  writes_per_minute: ${writesPerMinute}
sources:
  dockerhub:
    secret: ${SECRET}
chains:
  - name: bench
    match: { repository: svendowideit/testhook }
    steps:
${step.repeat(steps)}`,
  )
  return file
}
