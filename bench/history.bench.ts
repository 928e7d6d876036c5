// What a long history costs: the API, the pages and ingest with 10,000 runs and again with
// 1,000,000 (HOOKCHAIN_BENCH_HISTORY_RUNS), on SQLite and on PostgreSQL.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { openStore } from '../src/relay/store/open-store.js'
import { postgresConnection } from '../src/relay/store/postgres-store.js'
import { dropSchema, newSchemaName, schemaUrl } from '../test/relay/store/postgres-factory.js'
import { startGitHubStandIn } from '../test/support/github-stand-in.js'
import { provideTestPostgres } from '../test/support/test-postgres.js'
import { fillPostgres, fillSqlite } from './support/history-fill.js'
import {
  CONNECTIONS,
  config,
  DURATION_S,
  load,
  root,
  spawnRelay,
  stop,
} from './support/relay-load.js'
import { type BenchRow, formatMs, formatRatio } from './table.js'

const SMALL = 10_000
const LARGE = Number(process.env.HOOKCHAIN_BENCH_HISTORY_RUNS ?? 1_000_000)
const SAMPLES = 200
const TARGET = 1.5

interface Figures {
  [measure: string]: number
}

/** Each measure, its unit, and whether more is better. */
const MEASURES: { key: string; what: string; path?: string; rate?: true }[] = [
  { key: 'list', what: 'GET /api/runs (newest 20, with their attempts)', path: '/api/runs' },
  {
    key: 'filtered',
    what: 'GET /api/runs?repository=… (one repository of 1,000)',
    path: '/api/runs?repository=acme/app-7',
  },
  { key: 'one', what: 'GET /api/runs/<id> (ids across the history)' },
  { key: 'runsPage', what: 'GET / (the runs page)', path: '/' },
  { key: 'eventsPage', what: 'GET /events (the events page)', path: '/events' },
  {
    key: 'ingest',
    what: `POST /hooks/dockerhub, ${DURATION_S} s after as many of warm-up: requests/s`,
    rate: true,
  },
]

async function p50(url: string, paths: readonly string[]): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < SAMPLES + 20; i++) {
    const started = performance.now()
    const response = await fetch(`${url}${paths[i % paths.length]}`)
    if (!response.ok) throw new Error(`${paths[i % paths.length]} answered ${response.status}`)
    await response.arrayBuffer()
    if (i >= 20) times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] ?? Number.NaN
}

async function measure(configFile: string, database: string, ids: string[]): Promise<Figures> {
  const relay = await spawnRelay(configFile, database)
  try {
    const figures: Figures = {}
    for (const { key, path } of MEASURES) {
      if (key === 'ingest') continue
      figures[key] = await p50(relay.url, path ? [path] : ids.map((id) => `/api/runs/${id}`))
    }
    // The first seconds of load after a start are slower (code not yet optimised by V8) and
    // would weigh on whichever size happened to be measured colder.
    await load(relay.url, CONNECTIONS, 0)
    figures.ingest = (await load(relay.url, CONNECTIONS, 1)).requests.average
    return figures
  } finally {
    await stop(relay.child)
  }
}

/** A database of one size on one store. */
interface Dialect {
  database: string
  /** Fills it with the first `size` runs of the history. */
  fill(): Promise<void> | void
  sampleIds(): Promise<string[]>
  dispose(): Promise<void>
}

function sqlite(dir: string, size: number): Dialect {
  const file = join(dir, `history-${size}.db`)
  return {
    database: `sqlite:${file}`,
    fill() {
      fillSqlite(file, 0, size, LARGE)
      // The fill writes without fsync: its gigabytes would otherwise still be on their way to the
      // disk during the measures, and every commit's fsync would wait behind them.
      execFileSync('sync')
    },
    async sampleIds() {
      const db = new Database(file, { readonly: true })
      try {
        return (
          db.prepare(`SELECT id FROM runs ORDER BY random() LIMIT ${SAMPLES}`).all() as {
            id: string
          }[]
        ).map((r) => r.id)
      } finally {
        db.close()
      }
    },
    dispose: async () => rmSync(file, { force: true }),
  }
}

/** Runs `work` on a connection of its own to `database`. */
async function withClient<T>(
  database: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(postgresConnection(database).connectionString)
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

function postgres(size: number): Dialect {
  const schema = newSchemaName()
  const database = schemaUrl(schema)
  return {
    database,
    async fill() {
      await fillPostgres(database, 0, size, LARGE)
      // What autovacuum and the checkpointer would do after such a load, done now rather than
      // during the measures.
      await withClient(database, async (client) => {
        await client.query('VACUUM ANALYZE')
        // Needs a superuser (or pg_checkpoint); without, the checkpointer does it in its time.
        await client.query('CHECKPOINT').catch(() => {})
      })
    },
    sampleIds: () =>
      withClient(database, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM runs ORDER BY random() LIMIT ${SAMPLES}`,
        )
        return rows.map((r) => r.id)
      }),
    dispose: () => dropSchema(schema),
  }
}

export async function run(): Promise<BenchRow[]> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
  const server = await provideTestPostgres()
  const given = process.env.HOOKCHAIN_TEST_POSTGRES_URL
  process.env.HOOKCHAIN_TEST_POSTGRES_URL = server.url
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-history-bench-'))
  const github = await startGitHubStandIn()
  const rows: BenchRow[] = []
  try {
    const configFile = config(dir, github, 1, 80)
    // Each size gets a database of its own: the runs one size's ingest adds would otherwise be
    // the newest of the next size's history, and every filtered list would read past them.
    const dialects: [string, (size: number) => Dialect][] = [
      ['SQLite', (size) => sqlite(dir, size)],
      ['PostgreSQL', (size) => postgres(size)],
    ]
    for (const [name, make] of dialects) {
      const at: Record<number, Figures> = {}
      for (const size of [SMALL, LARGE]) {
        const dialect = make(size)
        try {
          const store = await openStore(dialect.database)
          await store.migrate()
          await store.close()
          const started = performance.now()
          await dialect.fill()
          process.stderr.write(
            `${name}: ${size} runs (${((performance.now() - started) / 1000).toFixed(0)} s to fill)\n`,
          )
          at[size] = await measure(configFile, dialect.database, await dialect.sampleIds())
        } finally {
          await dialect.dispose()
        }
      }
      for (const { key, what, rate } of MEASURES) {
        const small = at[SMALL]?.[key] ?? Number.NaN
        const large = at[LARGE]?.[key] ?? Number.NaN
        const ratio = rate ? small / large : large / small
        rows.push({
          benchmark: 'history growth',
          measure: `${what}, ${name}, ${LARGE.toLocaleString('en')} runs${rate ? '' : ': p50 of 200'}`,
          value: rate ? large.toFixed(0) : formatMs(large),
          baseline: `the same with ${SMALL.toLocaleString('en')} runs`,
          baselineValue: rate ? small.toFixed(0) : formatMs(small),
          ratio: formatRatio(rate ? large / small : ratio),
          target: rate ? `≥ 1/${TARGET} of the baseline` : `≤ ${TARGET}× the baseline`,
          met: ratio <= TARGET,
        })
      }
    }
    return rows
  } finally {
    await github.close()
    rmSync(dir, { recursive: true, force: true })
    if (given === undefined) delete process.env.HOOKCHAIN_TEST_POSTGRES_URL
    else process.env.HOOKCHAIN_TEST_POSTGRES_URL = given
    await server.stop()
  }
}
