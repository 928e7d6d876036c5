// Fills a relay's database with a long history, fast: rows go in directly in big batches (not
// over HTTP), built with the store's own row mappings so that they are what the relay writes.
import Database from 'better-sqlite3'
import pg from 'pg'
import { newId } from '../../src/relay/ids.js'
import type { Attempt } from '../../src/relay/model/attempt.js'
import type { EventRecord } from '../../src/relay/model/event.js'
import { imageOf, type Run, type RunState, type Step } from '../../src/relay/model/run.js'
import type { PushEvent } from '../../src/relay/sources/types.js'
import { postgresConnection } from '../../src/relay/store/postgres-store.js'
import {
  ATTEMPT_COLUMNS,
  attemptParams,
  eventParams,
  RUN_COLUMNS,
  runParams,
  STEP_COLUMNS,
  STEP_KEY,
  stepRows,
} from '../../src/relay/store/rows.js'

export const REPOSITORIES = 1000
export const CHAINS = 10
const BATCH = 500
/** Within the default retention (90 days), which would otherwise delete the history as it starts. */
const SPAN_MS = 60 * 86_400_000
/** The history's first run, 60 days ago; the runs that follow are seconds to minutes apart. */
const FIRST = Date.now() - SPAN_MS - 86_400_000

/** Run number `n` of the history, with its event and the attempts of its two steps. */
export function historyRow(n: number, total: number) {
  const at = new Date(FIRST + Math.floor((n / total) * SPAN_MS))
  const iso = at.toISOString()
  const state: RunState = n % 50 === 0 ? 'failure' : n % 97 === 0 ? 'error' : 'success'
  const push: PushEvent = {
    source: 'dockerhub',
    registry: 'docker.io',
    repository: `acme/app-${n % REPOSITORIES}`,
    tag: `v1.${n}`,
    digest: null,
    pusher: 'ci-bot',
    pushedAt: iso,
    callbackUrl: null,
  }
  const eventId = newId(at.getTime())
  const run: Run = {
    id: newId(at.getTime()),
    eventId,
    chain: `chain-${n % CHAINS}`,
    source: 'dockerhub',
    push,
    image: imageOf(push),
    state,
    stepTimeoutMs: 1_800_000,
    createdAt: iso,
    finishedAt: iso,
    version: 4,
    attempt: 1,
    onFailure: [],
    sourceCommit: null,
    origin: null,
    notes: [],
    steps: [1, 2].map(
      (index): Step => ({
        index,
        kind: 'dispatch',
        target: index === 1 ? 'acme/integration-tests' : 'acme/deploy',
        eventType: 'image-pushed',
        state: index === 2 && state !== 'success' ? state : 'success',
        description: index === 1 ? '387 tests PASSED' : 'Deployed',
        context: 'Continuous integration',
        targetUrl: `https://github.com/acme/tests/actions/runs/${n}`,
        generation: 1,
        startedAt: iso,
        dispatchedAt: iso,
        finishedAt: iso,
        deadline: null,
        timeoutMs: null,
        callbacksDropped: 0,
        require: null,
        branches: [],
        decision: null,
      }),
    ),
  }
  const event: EventRecord = {
    id: eventId,
    source: 'dockerhub',
    deliveryId: `${iso}/sha256:${n.toString(16).padStart(64, '0')}`,
    receivedAt: iso,
    outcome: 'started',
    reason: null,
    contentType: 'application/json',
    payload: JSON.stringify({
      push_data: { tag: push.tag },
      repository: { repo_name: push.repository },
    }),
    pushes: [push],
    runIds: [run.id],
    duplicates: 0,
    lastDuplicateAt: null,
  }
  const attempts: Attempt[] = run.steps.map((s) => ({
    runId: run.id,
    runAttempt: 1,
    step: s.index,
    phase: 'main',
    branch: 0,
    kind: 'dispatch',
    target: s.target,
    request: { event_type: 'image-pushed' },
    status: 204,
    error: null,
    durationMs: 180,
    startedAt: iso,
  }))
  return { event, run, attempts }
}

const EVENT_COLUMNS = [
  'id',
  'source',
  'delivery_id',
  'received_at',
  'outcome',
  'reason',
  'content_type',
  'payload',
  'pushes',
  'run_ids',
]

/** The rows of runs `from` to `to - 1` of a history of `total`, table by table. */
function tables(from: number, to: number, total: number) {
  const rows = Array.from({ length: to - from }, (_, i) => historyRow(from + i, total))
  const runs = rows.map((r) => r.run)
  return [
    { table: 'events', columns: EVENT_COLUMNS, rows: rows.map((r) => eventParams(r.event)) },
    { table: 'runs', columns: [...RUN_COLUMNS], rows: runs.map(runParams) },
    { table: 'steps', columns: [...STEP_KEY, ...STEP_COLUMNS], rows: stepRows(runs) },
    {
      table: 'attempts',
      columns: [...ATTEMPT_COLUMNS],
      rows: rows.flatMap((r) => r.attempts.map(attemptParams)),
    },
  ]
}

function insertText(table: string, columns: readonly string[], count: number, numbered: boolean) {
  let n = 0
  const row = () => `(${columns.map(() => (numbered ? `$${++n}` : '?')).join(', ')})`
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: count }, row).join(', ')}`
}

/** Adds runs `from` to `to - 1` to a migrated SQLite database. */
export function fillSqlite(file: string, from: number, to: number, total: number): void {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const statements = new Map<string, Database.Statement>()
  try {
    for (let start = from; start < to; start += BATCH) {
      const batch = tables(start, Math.min(to, start + BATCH), total)
      db.transaction(() => {
        for (const { table, columns, rows } of batch) {
          // SQLite takes at most 32766 parameters a statement.
          const per = Math.floor(30_000 / columns.length)
          for (let i = 0; i < rows.length; i += per) {
            const chunk = rows.slice(i, i + per)
            const text = insertText(table, columns, chunk.length, false)
            let statement = statements.get(text)
            if (!statement) {
              statement = db.prepare(text)
              statements.set(text, statement)
            }
            statement.run(...chunk.flat())
          }
        }
      })()
    }
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
}

/** Adds runs `from` to `to - 1` to a migrated PostgreSQL database (or schema). */
export async function fillPostgres(url: string, from: number, to: number, total: number) {
  const client = new pg.Client({ connectionString: postgresConnection(url).connectionString })
  await client.connect()
  try {
    for (let start = from; start < to; start += BATCH) {
      await client.query('BEGIN')
      for (const { table, columns, rows } of tables(start, Math.min(to, start + BATCH), total)) {
        const per = Math.floor(30_000 / columns.length)
        for (let i = 0; i < rows.length; i += per) {
          const chunk = rows.slice(i, i + per)
          await client.query(insertText(table, columns, chunk.length, true), chunk.flat())
        }
      }
      await client.query('COMMIT')
    }
    await client.query('ANALYZE')
  } finally {
    await client.end()
  }
}
