// Ingest on PostgreSQL next to SQLite, and with one and with three relays on PostgreSQL.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type autocannon from 'autocannon'
import { dropSchema, newSchemaName, schemaUrl } from '../test/relay/store/postgres-factory.js'
import { startGitHubStandIn } from '../test/support/github-stand-in.js'
import { provideTestPostgres } from '../test/support/test-postgres.js'
import {
  CONNECTIONS,
  config,
  DURATION_S,
  load,
  root,
  spawnRelay,
  stop,
} from './support/relay-load.js'
import { type BenchRow, formatRatio } from './table.js'

async function ingest(
  configFile: string,
  database: string,
  relays: number,
): Promise<autocannon.Result[]> {
  const servers = await Promise.all(
    Array.from({ length: relays }, () => spawnRelay(configFile, database)),
  )
  try {
    const perRelay = Math.ceil(CONNECTIONS / relays)
    return await Promise.all(servers.map((s, lane) => load(s.url, perRelay, lane)))
  } finally {
    await Promise.all(servers.map((s) => stop(s.child)))
  }
}

const total = (results: autocannon.Result[]) =>
  results.reduce((sum, r) => sum + r.requests.average, 0)
const failures = (results: autocannon.Result[]) =>
  results.reduce((sum, r) => sum + r.non2xx + r.errors, 0)

export async function run(): Promise<BenchRow[]> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
  // The same PostgreSQL as the tests: the one given or found, or one started for this bench.
  const database = await provideTestPostgres()
  const given = process.env.HOOKCHAIN_TEST_POSTGRES_URL
  process.env.HOOKCHAIN_TEST_POSTGRES_URL = database.url
  process.stderr.write(`PostgreSQL: ${database.url} (${database.reason})\n`)
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-cluster-bench-'))
  const github = await startGitHubStandIn()
  const schemas = [newSchemaName(), newSchemaName()]
  try {
    const file = config(dir, github, 1, 80)
    const sqlite = await ingest(file, `sqlite:${join(dir, 'bench.db')}`, 1)
    const postgres = await ingest(file, schemaUrl(schemas[0] as string), 1)
    const three = await ingest(file, schemaUrl(schemas[1] as string), 3)
    const measure = `POST /hooks/dockerhub, ${CONNECTIONS} connections in all, ${DURATION_S} s: requests/s (mean, summed over relays)`
    return [
      {
        benchmark: 'cluster ingest',
        measure: `${measure}, one relay on PostgreSQL`,
        value: total(postgres).toFixed(0),
        baseline: 'one relay on SQLite',
        baselineValue: total(sqlite).toFixed(0),
        ratio: formatRatio(total(postgres) / total(sqlite)),
        target: '',
        met: null,
      },
      {
        benchmark: 'cluster ingest',
        // On one machine the three relays share its cores with PostgreSQL and the load generator:
        // this shows what sharing one database costs, not what more machines would bring.
        measure: `${measure}, three relays on one PostgreSQL database, all on this machine`,
        value: total(three).toFixed(0),
        baseline: 'one relay on PostgreSQL',
        baselineValue: total(postgres).toFixed(0),
        ratio: formatRatio(total(three) / total(postgres)),
        target: 'no request refused',
        met: failures(three) + failures(postgres) + failures(sqlite) === 0,
      },
    ]
  } finally {
    await github.close()
    for (const schema of schemas) await dropSchema(schema)
    rmSync(dir, { recursive: true, force: true })
    await database.stop()
    if (given === undefined) delete process.env.HOOKCHAIN_TEST_POSTGRES_URL
    else process.env.HOOKCHAIN_TEST_POSTGRES_URL = given
  }
}
