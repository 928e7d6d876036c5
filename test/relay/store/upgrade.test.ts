// A database written by relays of an earlier version, migrated by this one: what they wrote, and
// what they go on writing while they are replaced one at a time, is found as before.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { postgresMigrations } from '../../../src/relay/store/postgres-migrations.js'
import { PostgresStore } from '../../../src/relay/store/postgres-store.js'
import { placeholders } from '../../../src/relay/store/query.js'
import { eventParams, RUN_COLUMNS, runParams } from '../../../src/relay/store/rows.js'
import { sqliteMigrations } from '../../../src/relay/store/sqlite-migrations.js'
import { SqliteStore } from '../../../src/relay/store/sqlite-store.js'
import type { Store } from '../../../src/relay/store/store.js'
import { release } from '../runs/run-fixture.js'
import { pinnedPush, t0 } from './delivery-fixture.js'
import { dropSchema, newSchemaName, schemaUrl, testDatabaseUrl } from './postgres-factory.js'

/** The schema before migration 8, which gave each run its image reference in a column. */
const BEFORE = 7

const CREATE_MIGRATIONS =
  'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)'
const INSERT_EVENT = `INSERT INTO events (id, source, delivery_id, received_at, outcome, reason, content_type, payload, pushes, run_ids) VALUES (${placeholders(10)})`
/** A run as a relay of version 7 inserts it: the columns it knows of. */
const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES (${placeholders(RUN_COLUMNS.length)})`

/** The statements that write a delivery's event and run, and the run. */
function earlierDelivery(id: string, repository: string, at: Date) {
  const intake = takeIn(
    {
      source: 'dockerhub',
      normalised: { deliveryId: id, pushes: [{ ...pinnedPush, repository }], ignored: null },
      contentType: 'application/json',
      payload: '{}',
      receivedAt: at,
    },
    [{ ...release, match: { repository: '**', tags: null } }],
  )
  const run = intake.runs[0]
  if (!run) throw new Error('the fixture delivery starts no run')
  return {
    run,
    writes: [
      { sql: INSERT_EVENT, params: eventParams(intake.event) },
      { sql: INSERT_RUN, params: runParams(run) },
    ],
  }
}

async function found(store: Store, repository: string): Promise<string[]> {
  return (await store.listRuns({ repository }, null, 10)).items.map((r) => r.id)
}

describe('a database of an earlier relay', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('on SQLite: its runs are found by image after the upgrade', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookchain-upgrade-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'hookchain.db')
    const earlier = earlierDelivery('before-8', 'Acme/Old-App', t0)
    const db = new Database(file)
    db.exec(CREATE_MIGRATIONS)
    for (const m of sqliteMigrations.filter((m) => m.version <= BEFORE)) {
      db.exec(m.sql)
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then')
    }
    for (const { sql, params } of earlier.writes) db.prepare(sql).run(...params)
    db.close()

    const store = new SqliteStore(file)
    cleanups.push(() => store.close())
    await store.migrate()
    expect(await found(store, 'acme/old')).toEqual([earlier.run.id])
    expect(await found(store, 'docker.io/ACME/old-app:*')).toEqual([earlier.run.id])
    expect(await found(store, 'acme/new')).toEqual([])
    expect(await store.getRun(earlier.run.id)).toMatchObject({ image: earlier.run.image })
  })

  it('on PostgreSQL: runs written before the upgrade and by relays not yet upgraded are found by image', async () => {
    const schema = newSchemaName()
    cleanups.push(() => dropSchema(schema))
    const client = new pg.Client({ connectionString: testDatabaseUrl() })
    await client.connect()
    cleanups.push(() => client.end())
    const write = async ({ run }: { run: { sql: string; params: unknown[] }[] }) => {
      for (const { sql, params } of run) {
        let n = 0
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        )
      }
    }
    await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`)
    await client.query(CREATE_MIGRATIONS)
    for (const m of postgresMigrations.filter((m) => m.version <= BEFORE)) {
      await client.query(m.sql)
      await client.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        'then',
      ])
    }
    const before = earlierDelivery('before-8', 'Acme/Old-App', t0)
    await write({ run: before.writes })

    const store = new PostgresStore(schemaUrl(schema))
    cleanups.push(() => store.close())
    await store.migrate()
    const during = earlierDelivery('during-8', 'acme/new-app', new Date(t0.getTime() + 60_000))
    await write({ run: during.writes })

    expect(await found(store, 'acme/old')).toEqual([before.run.id])
    expect(await found(store, 'docker.io/ACME/old-app:*')).toEqual([before.run.id])
    expect(await found(store, 'acme/new')).toEqual([during.run.id])
    expect(await found(store, 'acme/*-app')).toEqual([during.run.id, before.run.id])
    expect(await store.getRun(before.run.id)).toMatchObject({ image: before.run.image })
  })
})
