import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import type { Run } from '../../../src/relay/model/run.js'
import { advance } from '../../../src/relay/runs/engine.js'
import { openStore } from '../../../src/relay/store/open-store.js'
import { PostgresStore, postgresConnection } from '../../../src/relay/store/postgres-store.js'
import { ref } from '../runs/run-fixture.js'
import { delivery, t0 } from './delivery-fixture.js'
import {
  adminQuery,
  dropSchema,
  lockRow,
  lockWaiters,
  newSchemaName,
  schemaUrl,
} from './postgres-factory.js'

describe('postgresConnection', () => {
  it.each([
    ['postgres://relay@db.internal/hookchain', 'postgres://relay@db.internal/hookchain', null],
    [
      'postgres://relay:s3cret@db:5432/hookchain?schema=relay&sslmode=require',
      'postgres://relay:s3cret@db:5432/hookchain?sslmode=require&options=-c+search_path%3D%22relay%22',
      'relay',
    ],
    [
      'postgresql://db/hookchain?options=-c%20statement_timeout%3D5000&schema=Team_A',
      'postgresql://db/hookchain?options=-c+statement_timeout%3D5000+-c+search_path%3D%22Team_A%22',
      'Team_A',
    ],
  ])('reads %s as %s in schema %s', (url, connectionString, schema) => {
    expect(postgresConnection(url)).toEqual({ connectionString, schema })
  })

  it.each([
    ['postgres://db/x?schema=a-b', /not one plain schema name/],
    ['postgres://db/x?schema=a;DROP', /not one plain schema name/],
    ['postgres://db/x?schema=1abc', /not one plain schema name/],
    ['postgres://db/x?schema=pg_temp', /not one plain schema name/],
    [`postgres://db/x?schema=${'a'.repeat(64)}`, /not one plain schema name/],
    ['postgres://db/x?schema=a&schema=b', /not one plain schema name/],
    ['postgres://db/x?schema=a&options=-c%20search_path%3Db', /sets the schema twice/],
    ['postgres://db:notaport/x', /not a URL/],
  ])('refuses %s', (url, message) => {
    expect(() => postgresConnection(url)).toThrow(message)
  })

  it('never repeats the password in its errors', () => {
    expect(() => postgresConnection('postgres://relay:hunter2@db/x?schema=a-b')).toThrow(
      /^(?!.*hunter2)/,
    )
  })

  it('gives pg a URL whose connections work in the schema', async () => {
    const { connectionString } = postgresConnection(schemaUrl('Some_Schema'))
    const client = new pg.Client({ connectionString })
    await client.connect()
    try {
      const { rows } = await client.query<{ search_path: string }>('SHOW search_path')
      expect(rows[0]?.search_path).toBe('"Some_Schema"')
    } finally {
      await client.end()
    }
  })
})

describe('the PostgreSQL store', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A store on a schema of its own (not created yet), with a name to find its connections by. */
  function newStore(options: ConstructorParameters<typeof PostgresStore>[1] = {}) {
    const schema = `HC_Test_${randomBytes(4).toString('hex')}`
    const applicationName = `hookchain-${schema}`
    const url = schemaUrl(schema, { application_name: applicationName })
    const store = new PostgresStore(url, options)
    cleanups.push(async () => {
      await store.close()
      await dropSchema(schema)
    })
    return { store, schema, url, applicationName }
  }

  it('is what openStore gives for a postgres:// URL', async () => {
    const schema = newSchemaName()
    const store = await openStore(schemaUrl(schema))
    cleanups.push(async () => {
      await store.close()
      await dropSchema(schema)
    })
    expect(store).toBeInstanceOf(PostgresStore)
    expect(store.dialect).toBe('postgres')
    await store.migrate()
    await store.ping()
  })

  it('creates the schema named in the URL and keeps every table there', async () => {
    const { store, schema, url } = newStore()
    await store.migrate()
    const tables = await adminQuery<{ table_schema: string; n: number }>(
      "SELECT table_schema, count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('events', 'runs', 'outbox', 'schema_migrations') GROUP BY table_schema",
    )
    expect(tables.filter((t) => t.table_schema === schema)).toEqual([
      { table_schema: schema, n: 4 },
    ])
    expect(tables.filter((t) => t.table_schema === 'public')).toEqual([])

    const intake = delivery('seen-by-both')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const other = new PostgresStore(url)
    try {
      await other.migrate() // already done: changes nothing
      expect(await other.getEvent(intake.event.id)).toEqual(intake.event)
    } finally {
      await other.close()
    }
  })

  it('keeps working after the server cuts an idle connection', async () => {
    const poolErrors: Error[] = []
    const { store, applicationName } = newStore({ onPoolError: (e) => poolErrors.push(e) })
    await store.migrate()
    await store.ping() // leaves an idle connection in the pool
    const [cut] = await adminQuery<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    )
    expect(cut?.n).toBeGreaterThan(0)
    await expect.poll(() => poolErrors.length).toBeGreaterThan(0)
    expect(poolErrors[0]?.message).toMatch(/terminat/)
    await store.ping()
    expect(await store.outboxDepth()).toBe(0)
  })

  it('fails the one call, not the process, when its connection dies mid-transaction', async () => {
    const { store, schema, applicationName } = newStore({ onPoolError: () => {} })
    await store.migrate()
    const intake = delivery('cut')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const run = intake.runs[0] as Run
    const t = advance(run, { type: 'delivered', ref: ref(1), generation: 1 }, t0)
    if (!t.ok) throw new Error(t.message)
    const next = { ...t.run, version: run.version + 1 }

    const gate = await lockRow(schema, 'runs', run.id)
    const save = store.saveTransition(next, []).then(
      () => null,
      (error: Error) => error,
    )
    await lockWaiters(applicationName, 1)
    await adminQuery(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [applicationName],
    )
    expect((await save)?.message).toMatch(/terminat/)
    await gate.release()

    expect(await store.getRun(run.id)).toEqual(run)
    expect(await store.saveTransition(next, [])).toBe(true)
  })

  it('stores a NUL character as U+FFFD instead of failing the write', async () => {
    const { store } = newStore()
    await store.migrate()
    const intake = delivery('nul', { payload: 'not json\0at all' })
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    expect((await store.getEvent(intake.event.id))?.payload).toBe('not json\uFFFDat all')

    const run = intake.runs[0] as Run
    const callback = { state: 'failure' as const, description: 'exit\0code 1' }
    const t = advance(run, { type: 'callback', ref: ref(1), generation: 1, callback }, t0)
    if (!t.ok) throw new Error(t.message)
    expect(await store.saveTransition({ ...t.run, version: run.version + 1 }, [])).toBe(true)
    expect((await store.getRun(run.id))?.steps[0]?.description).toBe('exit\uFFFDcode 1')
    expect(await store.getRun('\0')).toBeNull()
  })

  it('says which database it could not migrate, without the password', async () => {
    const store = new PostgresStore('postgres://relay:hunter2@127.0.0.1:1/hookchain?schema=relay')
    cleanups.push(() => store.close())
    const failure = await store.migrate().then(
      () => null,
      (error: Error) => error,
    )
    expect(failure?.message).toMatch(
      /^could not migrate the PostgreSQL database 127\.0\.0\.1:1\/hookchain \(schema relay\): .*ECONNREFUSED/,
    )
    expect(failure?.message).not.toContain('hunter2')
  })

  it('closes once, however often it is closed', async () => {
    const { store } = newStore()
    await store.ping()
    await store.close()
    await store.close()
    await expect(store.ping()).rejects.toThrow()
  })
})
