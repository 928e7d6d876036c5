import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { freePort } from '../support/free-port.js'

export const REGISTRY_BINARY = '/usr/bin/docker-registry'

/** What the registry counts about its deliveries to one notification endpoint. */
export interface NotificationMetrics {
  /** Events queued and not yet delivered. */
  Pending: number
  /** Events that entered the endpoint's queue. */
  Events: number
  Successes: number
  /** Requests answered with a status the registry does not accept (it retries those). */
  Failures: number
  /** Requests that got no answer at all. */
  Errors: number
  /** How many requests got each answer, by status line (`"202 Accepted": 3`). */
  Statuses: Record<string, number>
}

export interface Registry {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string
  child: ChildProcess
  /** The registry's own account of its notifications to the relay (from its debug endpoint). */
  notifications(): Promise<NotificationMetrics>
  stop(): Promise<void>
}

const ENDPOINT = 'hookchain'

/**
 * Starts a real CNCF distribution registry (Debian's docker-registry), storing in `dir`, that
 * notifies `notify.url` of every push and pull with the relay's bearer token.
 */
export async function startRegistry(
  dir: string,
  notify: { url: string; token: string },
): Promise<Registry> {
  const [port, debugPort] = [await freePort(), await freePort()]
  const configFile = join(dir, 'registry.yml')
  writeFileSync(
    configFile,
    stringify({
      version: '0.1',
      log: { level: 'warn' },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') } },
      http: {
        addr: `127.0.0.1:${port}`,
        secret: 'hookchain-e2e',
        debug: { addr: `127.0.0.1:${debugPort}` },
      },
      notifications: {
        endpoints: [
          {
            name: ENDPOINT,
            url: notify.url,
            headers: { Authorization: [`Bearer ${notify.token}`] },
            timeout: '2s',
            threshold: 5,
            backoff: '1s',
          },
        ],
      },
    }),
  )
  const child = spawn(REGISTRY_BINARY, ['serve', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8')
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const host = `127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(
        `the registry (${REGISTRY_BINARY} serve ${configFile}) did not start:\n${log}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    host,
    child,
    async notifications() {
      const vars = (await (await fetch(`http://127.0.0.1:${debugPort}/debug/vars`)).json()) as {
        registry?: {
          notifications?: { endpoints?: { name: string; Metrics: NotificationMetrics }[] }
        }
      }
      const endpoint = vars.registry?.notifications?.endpoints?.find((e) => e.name === ENDPOINT)
      if (!endpoint) throw new Error(`the registry's /debug/vars has no endpoint ${ENDPOINT}`)
      return endpoint.Metrics
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
