// The relay's memory under a flood of unauthenticated deliveries, beside its idle memory, and
// whether it keeps serving while flooded.
import { execFileSync, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../test/support/github-stand-in.js'
import { root, spawnRelay, stop } from './support/relay-load.js'
import { type BenchRow, formatMs, formatRatio, median } from './table.js'

const WEBHOOK_SECRET = 'bench-github-webhook-secret-0123'
/** Connections the flood keeps open at once, all from one address, each sending 1 MiB. */
const FLOOD_CONNECTIONS = 3000
const FLOOD_S = 10
const MiB = 1024 * 1024

const pushBody = readFileSync(
  join(root, 'test/fixtures/sources/github-registry-package-published.json'),
  'utf8',
)

function config(dir: string, github: GitHubStandIn): string {
  const file = join(dir, 'hookchain-flood.yml')
  writeFileSync(
    file,
    `public_url: http://127.0.0.1:1
github:
  api_url: ${github.url}
  token: ${STAND_IN_TOKEN}
sources:
  github:
    webhook_secret: ${WEBHOOK_SECRET}
chains:
  - name: bench
    match: { repository: '**' }
    steps:
      - dispatch: { repository: acme/tests, event_type: image-pushed }
`,
  )
  return file
}

/** The process's resident memory now and at its peak, in bytes (Linux). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kB = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024
  return { rss: kB('VmRSS'), peak: kB('VmHWM') }
}

/** A signed GitHub delivery from `localAddress`: its status and how long it took. */
function deliver(
  url: string,
  localAddress: string,
  n: number,
): Promise<{ status: number; ms: number }> {
  const body = pushBody.replace('"action": "published"', `"action": "published", "n": ${n}`)
  const started = performance.now()
  return new Promise((resolve) => {
    const req = request(
      `${url}/hooks/github`,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'registry_package',
          'x-github-delivery': crypto.randomUUID(),
          'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
        },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
        )
      },
    )
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }))
    req.end(body)
  })
}

function health(url: string, localAddress: string): Promise<{ status: number; ms: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = request(`${url}/healthz`, { localAddress }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
    })
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }))
    req.end()
  })
}

/** The flood, from its own process: how its requests were answered, by status. */
function flood(port: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/support/flood-client.ts',
        String(port),
        String(FLOOD_CONNECTIONS),
        String(FLOOD_S),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the flood exited with ${code}`)),
    )
  })
}

/** Calls `probe` every half second until `until`, each call on its own: a slow answer delays no other. */
async function sample(
  until: number,
  probe: (n: number) => Promise<{ status: number; ms: number }>,
): Promise<{ status: number; ms: number }[]> {
  const calls: Promise<{ status: number; ms: number }>[] = []
  for (let n = 0; Date.now() < until; n++) {
    calls.push(probe(n))
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return Promise.all(calls)
}

export async function run(): Promise<BenchRow[]> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-bench-flood-'))
  const github = await startGitHubStandIn()
  try {
    const relay = await spawnRelay(config(dir, github), `sqlite:${join(dir, 'flood.db')}`)
    const pid = relay.child.pid ?? 0
    const port = Number(new URL(relay.url).port)
    // Warm: the paths a registry takes, then a moment for the heap to settle.
    for (let n = 0; n < 50; n++) await deliver(relay.url, '127.0.0.2', n)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const idle = memory(pid).rss

    const until = Date.now() + FLOOD_S * 1000
    const flooding = flood(port)
    // Once the flood has started.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const [healthz, deliveries] = await Promise.all([
      sample(until, () => health(relay.url, '127.0.0.2')),
      sample(until, (n) => deliver(relay.url, '127.0.0.3', 1000 + n)),
    ])
    const answers = await flooding
    const { peak } = memory(pid)
    await stop(relay.child)

    const times = (list: { ms: number }[]) =>
      `${formatMs(median(list.map((r) => r.ms)))}, ${formatMs(Math.max(...list.map((r) => r.ms)))}`
    const ok = (list: { status: number }[], status: number) =>
      list.filter((r) => r.status === status).length
    const shown = Object.entries(answers)
      .sort((a, b) => b[1] - a[1])
      .map(([status, count]) => `${count} × ${status}`)
      .join(', ')
    return [
      {
        benchmark: 'relay flood',
        measure: `peak RSS (VmHWM) of the relay while ${FLOOD_CONNECTIONS} connections from one address send 1 MiB GitHub hooks with a wrong signature for ${FLOOD_S} s (answers: ${shown})`,
        value: `${(peak / MiB).toFixed(0)} MiB`,
        baseline: 'RSS of the same relay, idle after 50 deliveries',
        baselineValue: `${(idle / MiB).toFixed(0)} MiB`,
        ratio: formatRatio(peak / idle),
        target: 'ratio < 2',
        met: peak / idle < 2,
      },
      {
        benchmark: 'relay flood',
        measure: `/healthz and a signed GitHub delivery from other addresses every 0.5 s during the flood: answered 200 / 202 (median and slowest time)`,
        value: `${ok(healthz, 200)}/${healthz.length} (${times(healthz)}), ${ok(deliveries, 202)}/${deliveries.length} (${times(deliveries)})`,
        baseline: '',
        baselineValue: '',
        ratio: '',
        target: 'all answered, median < 1 s',
        met:
          ok(healthz, 200) === healthz.length &&
          ok(deliveries, 202) === deliveries.length &&
          Math.max(median(healthz.map((r) => r.ms)), median(deliveries.map((r) => r.ms))) < 1000,
      },
    ]
  } finally {
    await github.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
