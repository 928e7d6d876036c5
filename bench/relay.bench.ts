// The relay's ingest path against bare Express, and how fast a chain moves (unpaced).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type autocannon from 'autocannon'
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
import { type BenchRow, formatMs, formatRatio, median } from './table.js'

const LATENCY_SAMPLES = 200
const ROUNDS = 3

function sum(results: autocannon.Result[], of: (result: autocannon.Result) => number): number {
  return results.reduce((total, result) => total + of(result), 0)
}

/** Requests per second over every round. */
function perSecond(results: autocannon.Result[]): number {
  return sum(results, (r) => r.requests.total) / sum(results, (r) => r.duration)
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
    // Both servers run side by side and take the load in turns, round after round: a machine
    // whose speed drifts during the run (a shared host) then weighs on both alike.
    const bare = await spawnServer(['bench/support/bare-express.ts'])
    const database = join(dir, 'ingest.db')
    const relay = await spawnRelay(config(dir, github, 1, 80), `sqlite:${database}`)
    const baselineRounds: autocannon.Result[] = []
    const ingestRounds: autocannon.Result[] = []
    for (let round = 0; round < ROUNDS; round++) {
      baselineRounds.push(await load(bare.url, CONNECTIONS, round))
      ingestRounds.push(await load(relay.url, CONNECTIONS, round))
    }
    await stop(bare.child)
    await stop(relay.child)
    const db = new Database(database, { readonly: true })
    const stored = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n
    db.close()
    const acknowledged = sum(ingestRounds, (r) => r['2xx'])
    const baseline = perSecond(baselineRounds)
    const ingest = perSecond(ingestRounds)
    const roundRatios = ingestRounds.map(
      (r, i) => r.requests.average / (baselineRounds[i]?.requests.average ?? Number.NaN),
    )

    const latencies = await chainLatencies(dir, github)
    const ratio = ingest / baseline
    return [
      {
        benchmark: 'relay ingest',
        measure: `POST /hooks/dockerhub, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s in turns with the baseline, SQLite (synchronous=FULL, on its own thread), each event starting a run whose dispatch waits in the outbox at the default 80 writes/min: requests/s (mean; ratio by round ${roundRatios.map(formatRatio).join(', ')})`,
        value: ingest.toFixed(0),
        baseline: 'bare Express 5 parsing the same JSON, 202',
        baselineValue: baseline.toFixed(0),
        ratio: formatRatio(ratio),
        target: 'ratio ≥ 0.5',
        met: ratio >= 0.5,
      },
      {
        benchmark: 'relay ingest',
        measure: 'p99 latency of the same load (the median round)',
        value: formatMs(median(ingestRounds.map((r) => r.latency.p99))),
        baseline: 'bare Express 5',
        baselineValue: formatMs(median(baselineRounds.map((r) => r.latency.p99))),
        ratio: formatRatio(
          median(ingestRounds.map((r) => r.latency.p99)) /
            Math.max(1, median(baselineRounds.map((r) => r.latency.p99))),
        ),
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
        met:
          stored >= acknowledged &&
          sum(ingestRounds, (r) => r.non2xx) === 0 &&
          sum(ingestRounds, (r) => r.errors) === 0,
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
