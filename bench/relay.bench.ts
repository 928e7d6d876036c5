// The relay's ingest path against bare Express, and how fast a chain moves (unpaced).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { type GitHubStandIn, startGitHubStandIn } from '../test/support/github-stand-in.js'
import {
  CONNECTIONS,
  config,
  DURATION_S,
  load,
  pushBody,
  root,
  SECRET,
  spawnRelay,
  spawnServer,
  stop,
} from './support/relay-load.js'
import { type BenchRow, formatMs, formatRatio } from './table.js'

const LATENCY_SAMPLES = 200

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
    const relay = await spawnRelay(config(dir, github, 1, 80), `sqlite:${database}`)
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
  const relay = await spawnRelay(config(dir, github, 2, 0), `sqlite:${join(dir, 'chain.db')}`)
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
