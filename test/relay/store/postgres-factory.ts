import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { PostgresStore } from '../../../src/relay/store/postgres-store.js'
import type { StoreFactory } from './store-factories.js'

/** The test database; every test works in a schema of its own there. */
export function testDatabaseUrl(): string {
  return process.env.HOOKCHAIN_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'
}

/** A schema name no other test uses; the schema itself is not created. */
export function newSchemaName(): string {
  return `hc_test_${randomBytes(6).toString('hex')}`
}

/** The test database URL with `?schema=` (and any other parameters) set. */
export function schemaUrl(schema: string, parameters: Record<string, string> = {}): string {
  const url = new URL(testDatabaseUrl())
  url.searchParams.set('schema', schema)
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value)
  return url.toString()
}

/** Runs one statement on a connection of its own, outside any store. */
export async function adminQuery<T extends pg.QueryResultRow>(
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${testDatabaseUrl()} does not answer (${(error as Error).message}); start it, or set HOOKCHAIN_TEST_POSTGRES_URL`,
    )
  }
  try {
    return (await client.query<T>(text, params)).rows
  } finally {
    await client.end()
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

export const postgresFactory: StoreFactory = {
  name: 'postgres',
  async create() {
    const schema = newSchemaName()
    const store = new PostgresStore(schemaUrl(schema))
    try {
      await store.migrate()
    } catch (error) {
      await store.close()
      throw new Error(
        `could not migrate a test schema in ${testDatabaseUrl()}: ${(error as Error).message}; is PostgreSQL running? (HOOKCHAIN_TEST_POSTGRES_URL picks another server)`,
      )
    }
    return {
      store,
      async dispose() {
        await store.close()
        await dropSchema(schema)
      },
    }
  },
}

/**
 * Holds a lock on one row from a connection outside the stores: their writes to that row queue up
 * behind it until `release`, which lets a test line up concurrent transactions deterministically.
 */
export async function lockRow(
  schema: string,
  table: string,
  id: string,
): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() })
  await client.connect()
  await client.query('BEGIN')
  await client.query(`SELECT 1 FROM "${schema}".${table} WHERE id = $1 FOR UPDATE`, [id])
  return {
    async release() {
      await client.query('COMMIT')
      await client.end()
    },
  }
}

/** Waits until `count` connections named `applicationName` wait for a lock. */
export async function lockWaiters(applicationName: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await adminQuery<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [applicationName],
    )
    if ((row?.n ?? 0) >= count) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${count} connections of ${applicationName} never waited for a lock`)
}
