// The relay's ingest path against bare Express, and how fast a chain moves (unpaced).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import Database from 'better-sqlite3'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../test/support/github-stand-in.js'
import { type BenchRow, formatMs, formatRatio } from './table.js'

const root = join(import.meta.dirname, '..')
const SECRET = 'bench-dockerhub-secret-0123456789'
const DURATION_S = 5
const CONNECTIONS = 20
const LATENCY_SAMPLES = 200

const pushBody = JSON.parse(
  readFileSync(join(root, 'test/fixtures/sources/dockerhub-push.json'), 'utf8'),
)

/** A server as users run it: the compiled relay (`npm run build`), or a TypeScript script through tsx. */
async function spawnServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const loader = args[0]?.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      const match = /listening on (http:\/\/[^"\s]+)/.exec(buffer)
      if (match?.[1]) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
  return { child, url }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** Every request a different push (its own delivery), as a registry would send them. */
async function load(url: string): Promise<autocannon.Result> {
  let n = 0
  return autocannon({
    url: `${url}/hooks/dockerhub/${SECRET}`,
    method: 'POST',
    connections: CONNECTIONS,
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
              push_data: { ...pushBody.push_data, tag: `v${n}`, pushed_at: 1417566161 + n },
            }),
          }
        },
      },
    ],
  })
}

function config(
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

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

export async function run(): Promise<BenchRow[]> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-bench-'))
  const github = await startGitHubStandIn()
  try {
    const bare = await spawnServer(['bench/support/bare-express.ts'])
    const baseline = await load(bare.url)
    await stop(bare.child)

    const database = join(dir, 'ingest.db')
    const relay = await spawnServer([
      'lib/relay/cli.js',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--config',
      config(dir, github, 1, 80),
      '--database',
      `sqlite:${database}`,
    ])
    const ingest = await load(relay.url)
    await stop(relay.child)
    const db = new Database(database, { readonly: true })
    const stored = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n
    db.close()
    const acknowledged = ingest['2xx']

    const latencies = await chainLatencies(dir, github)
    const ratio = ingest.requests.average / baseline.requests.average
    return [
      {
        benchmark: 'relay ingest',
        measure: `POST /hooks/dockerhub, ${CONNECTIONS} connections, ${DURATION_S} s, SQLite (synchronous=FULL), each event starting a run whose dispatch waits in the outbox at the default 80 writes/min: requests/s (mean)`,
        value: ingest.requests.average.toFixed(0),
        baseline: 'bare Express 5 parsing the same JSON, 202',
        baselineValue: baseline.requests.average.toFixed(0),
        ratio: formatRatio(ratio),
        target: 'ratio ≥ 0.5',
        met: ratio >= 0.5,
      },
      {
        benchmark: 'relay ingest',
        measure: 'p99 latency of the same load',
        value: formatMs(ingest.latency.p99),
        baseline: 'bare Express 5',
        baselineValue: formatMs(baseline.latency.p99),
        ratio: formatRatio(ingest.latency.p99 / Math.max(1, baseline.latency.p99)),
        target: '',
        met: null,
      },
      {
        benchmark: 'relay ingest',
        measure: 'events committed / acknowledged (202)',
        value: `${stored} / ${acknowledged}`,
        baseline: '',
        baselineValue: '',
        ratio: '',
        target: 'every acknowledged event committed',
        met: stored >= acknowledged && ingest.non2xx === 0 && ingest.errors === 0,
      },
      {
        benchmark: 'relay chain',
        measure: `event → dispatch at the GitHub stand-in, unpaced, ${LATENCY_SAMPLES} events one at a time: p50 (p99)`,
        value: `${formatMs(percentile(latencies.eventToDispatch, 50))} (${formatMs(percentile(latencies.eventToDispatch, 99))})`,
        baseline: 'the POST /hooks round trip alone: p50',
        baselineValue: formatMs(percentile(latencies.ingestOnly, 50)),
        ratio: formatRatio(
          percentile(latencies.eventToDispatch, 50) / percentile(latencies.ingestOnly, 50),
        ),
        target: 'p50 < 10 ms',
        met: percentile(latencies.eventToDispatch, 50) < 10,
      },
      {
        benchmark: 'relay chain',
        measure: `callback → next dispatch, unpaced, ${LATENCY_SAMPLES} callbacks: p50 (p99)`,
        value: `${formatMs(percentile(latencies.callbackToDispatch, 50))} (${formatMs(percentile(latencies.callbackToDispatch, 99))})`,
        baseline: '',
        baselineValue: '',
        ratio: '',
        target: '',
        met: null,
      },
    ]
  } finally {
    await github.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function chainLatencies(dir: string, github: GitHubStandIn) {
  const relay = await spawnServer([
    'lib/relay/cli.js',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--config',
    config(dir, github, 2, 0),
    '--database',
    `sqlite:${join(dir, 'chain.db')}`,
  ])
  const eventToDispatch: number[] = []
  const callbackToDispatch: number[] = []
  const ingestOnly: number[] = []
  try {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const before = github.dispatches.length
      const started = performance.now()
      const response = await fetch(`${relay.url}/hooks/dockerhub/${SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...pushBody,
          push_data: { ...pushBody.push_data, tag: `latency-${i}` },
        }),
      })
      await response.arrayBuffer()
      ingestOnly.push(performance.now() - started)
      const first = await github.waitForDispatches(before + 1, 5000)
      eventToDispatch.push(
        (first[before]?.receivedAt.getTime() ?? Number.NaN) -
          (Date.now() - (performance.now() - started)),
      )
      const callbackUrl = String(first[before]?.clientPayload?.callback_url).replace(
        'http://127.0.0.1:1',
        relay.url,
      )
      const reported = performance.now()
      const reportedAt = Date.now()
      const answer = await fetch(callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"state":"success"}',
      })
      await answer.arrayBuffer()
      const second = await github.waitForDispatches(before + 2, 5000)
      callbackToDispatch.push((second[before + 1]?.receivedAt.getTime() ?? Number.NaN) - reportedAt)
      void reported
    }
  } finally {
    await stop(relay.child)
  }
  return { eventToDispatch, callbackToDispatch, ingestOnly }
}
