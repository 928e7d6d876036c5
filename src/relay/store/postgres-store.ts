import pg from 'pg'
import { getErrorMessage } from '../../shared/errors.js'
import { operationMethods } from './operation-methods.js'
import { OPERATIONS, type OperationName, type StoreOperations } from './operations/index.js'
import { postgresMigrations } from './postgres-migrations.js'
import { type Operation, type Query, storable, textFor } from './query.js'
import type { Store } from './store.js'

/** "hookchai" in ASCII: the advisory lock every relay takes to migrate, one at a time. */
const MIGRATION_LOCK = '7525458818541813097'

const SCHEMA_NAME = /^(?!pg_)[A-Za-z_][A-Za-z0-9_]{0,62}$/

export interface PostgresConnection {
  /** The URL to give pg: without `schema`, which pg does not know. */
  connectionString: string
  /** The schema every connection works in, or null for the server's default search path. */
  schema: string | null
}

/**
 * Reads `?schema=NAME` off a `postgres://` URL and turns it into a `search_path` that the server
 * sets on every new connection (the `options` startup parameter). Pure.
 */
export function postgresConnection(url: string): PostgresConnection {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(
      'the PostgreSQL database URL is not a URL; write it like postgres://user@host/db',
    )
  }
  const schemas = parsed.searchParams.getAll('schema')
  if (schemas.length === 0) return { connectionString: url, schema: null }
  const [schema] = schemas
  if (schemas.length > 1 || schema === undefined || !SCHEMA_NAME.test(schema)) {
    throw new Error(
      `schema=${schemas.join(',')} in the database URL is not one plain schema name; use letters, digits and _, at most 63, not starting with a digit or pg_`,
    )
  }
  const options = parsed.searchParams.get('options')
  if (options?.includes('search_path')) {
    throw new Error(
      'the database URL sets the schema twice, with schema= and with search_path in options=; keep one',
    )
  }
  parsed.searchParams.delete('schema')
  parsed.searchParams.set(
    'options',
    [options, `-c search_path="${schema}"`].filter((o) => o).join(' '),
  )
  return { connectionString: parsed.toString(), schema }
}

export interface PostgresStoreOptions {
  /**
   * Told when an idle pooled connection fails (the server restarted, a network cut): the pool drops
   * that connection and opens another when needed. Defaults to a process warning.
   */
  onPoolError?: (error: Error) => void
  /** Connections at most; pg's default is 10. */
  maxConnections?: number
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

/** Its methods are made in the constructor, one per operation of the catalogue. */
export interface PostgresStore extends StoreOperations {}

/** The store for relays that scale out: several relays on one PostgreSQL database. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const
  readonly schema: string | null
  /** Where the database is, for messages: never the credentials. */
  private readonly place: string
  private readonly pool: pg.Pool
  private closed = false

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const { connectionString, schema } = postgresConnection(url)
    this.schema = schema
    this.place = placeOf(connectionString, schema)
    this.pool = new pg.Pool({
      connectionString,
      max: options.maxConnections,
      connectionTimeoutMillis: 10_000,
    })
    const onPoolError =
      options.onPoolError ??
      ((error: Error) =>
        process.emitWarning(`an idle PostgreSQL connection failed: ${error.message}`))
    this.pool.on('error', onPoolError)
    Object.assign(
      this,
      operationMethods((name, args) => this.perform(name, args)),
    )
  }

  /** A `write` runs in a transaction; reads and lone statements go to the pool as they come. */
  private perform(name: OperationName, args: unknown[]): Promise<unknown> {
    const spec = OPERATIONS[name] as {
      kind: string
      steps: (...a: unknown[]) => Operation<unknown>
    }
    const steps = spec.steps('postgres', ...args)
    return spec.kind === 'write'
      ? this.transaction((tx) => runSteps(steps, tx))
      : runSteps(steps, this.pool)
  }

  async migrate(): Promise<void> {
    try {
      await this.applyMigrations()
    } catch (error) {
      // 42501: insufficient_privilege.
      const hint =
        (error as { code?: unknown }).code === '42501'
          ? '; the database user needs CREATE on the schema to apply migrations (or start one relay once with a user that has it)'
          : ''
      throw new Error(
        `could not migrate the PostgreSQL database ${this.place}: ${getErrorMessage(error)}${hint}`,
        { cause: error },
      )
    }
  }

  private async applyMigrations(): Promise<void> {
    await this.transaction(async (tx) => {
      // Relays starting together on an empty database: the first migrates, the others wait here.
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
      if (this.schema) {
        const found = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])
        if (found.rowCount === 0) await tx.query(`CREATE SCHEMA "${this.schema}"`)
      }
      // Not CREATE TABLE IF NOT EXISTS, which needs CREATE on the schema even when the table is
      // there: a user without it may still start a relay on a database that is up to date.
      const [known] = await select<{ present: boolean }>(
        tx,
        "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
        [],
      )
      if (!known?.present) {
        await tx.query(
          'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
        )
      }
      const done = new Set(
        (await select<{ version: number }>(tx, 'SELECT version FROM schema_migrations', [])).map(
          (r) => r.version,
        ),
      )
      for (const m of postgresMigrations) {
        if (done.has(m.version)) continue
        await tx.query(m.sql)
        await tx.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [m.version, m.name, new Date().toISOString()],
        )
      }
    })
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1')
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool.end()
  }

  /**
   * Runs `work` between BEGIN and COMMIT on one connection; ROLLBACK when it throws. A connection
   * whose ROLLBACK fails is dropped from the pool, not reused.
   */
  private async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    let broken: Error | undefined
    // A checked-out client that loses its connection emits 'error': unheard, it would end the process.
    const onError = (error: Error) => {
      broken = error
    }
    client.on('error', onError)
    try {
      await client.query('BEGIN')
      const outcome = await work(client)
      await client.query('COMMIT')
      return outcome
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken ??= e
      })
      throw error
    } finally {
      client.removeListener('error', onError)
      client.release(broken)
    }
  }
}

function placeOf(connectionString: string, schema: string | null): string {
  const { host, pathname } = new URL(connectionString)
  return `${host || 'localhost'}${pathname}${schema ? ` (schema ${schema})` : ''}`
}

async function runSteps<T>(steps: Operation<T>, db: Queryable): Promise<T> {
  let next = steps.next()
  while (!next.done) next = steps.next(await execute(db, next.value))
  return next.value
}

async function execute(db: Queryable, { mode, statement, params }: Query): Promise<unknown> {
  const result = await db.query(numbered(textFor(statement, 'postgres')), params.map(storable))
  if (mode === 'all') return result.rows
  if (mode === 'get') return result.rows[0]
  return result.rowCount ?? 0
}

const numberedTexts = new Map<string, string>()

/** The statement with PostgreSQL's `$1, $2, …` for its `?` placeholders. */
function numbered(text: string): string {
  let found = numberedTexts.get(text)
  if (found === undefined) {
    let n = 0
    found = text.replace(/\?/g, () => `$${++n}`)
    numberedTexts.set(text, found)
  }
  return found
}

async function select<T>(db: Queryable, text: string, params: readonly unknown[]): Promise<T[]> {
  return (await db.query(text, params.map(storable))).rows as T[]
}
