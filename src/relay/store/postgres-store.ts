import pg from 'pg'
import { getErrorMessage } from '../../shared/errors.js'
import type { Run, RunState } from '../chains/run.js'
import { postgresMigrations } from './postgres-migrations.js'
import {
  type AttemptRow,
  attemptParams,
  type CallbackRow,
  callbackParams,
  type EventRow,
  eventParams,
  JOB_COLUMNS,
  type JobRow,
  jobParams,
  RUN_COLUMNS,
  type RunRow,
  runParams,
  STEP_COLUMNS,
  type StepRow,
  stepParams,
  stepRows,
  toAttempt,
  toCallback,
  toEvent,
  toJob,
  toRun,
} from './rows.js'
import type {
  Attempt,
  CallbackRecord,
  EventFilter,
  EventRecord,
  Job,
  NewJob,
  Page,
  RunFilter,
  Store,
  TokenRecord,
} from './store.js'

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

/** Returned from inside a transaction to end it with ROLLBACK instead of COMMIT. */
class Abandoned<T> {
  constructor(readonly result: T) {}
}

/** The store for relays that scale out: several relays on one PostgreSQL database. */
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

  async recordEvent(event: EventRecord, runs: Run[], jobs: NewJob[]) {
    const added = await select<{ id: string }>(this.pool, RECORD_EVENT, [
      ...eventParams(event),
      jsonRows(RUN_COLUMNS, runs.map(runParams)),
      jsonRows(['run_id', 'idx', ...STEP_COLUMNS], stepRows(runs)),
      jsonRows(JOB_COLUMNS, jobs.map(jobParams)),
    ])
    if (added.length > 0) return { duplicate: false, event }
    const [first] = await select<EventRow>(
      this.pool,
      'SELECT * FROM events WHERE source = $1 AND delivery_id = $2',
      [event.source, event.deliveryId],
    )
    if (!first) throw new Error(`event ${event.deliveryId} of ${event.source} vanished`)
    return { duplicate: true, event: toEvent(first) }
  }

  async addRuns(eventId: string, runs: Run[], jobs: NewJob[]): Promise<void> {
    await this.transaction(async (tx) => {
      const [row] = await select<{ run_ids: string }>(
        tx,
        'SELECT run_ids FROM events WHERE id = $1 FOR UPDATE',
        [eventId],
      )
      if (!row) throw new Error(`event ${eventId} does not exist`)
      await insertRuns(tx, runs)
      await insertJobs(tx, jobs)
      const runIds = [...(JSON.parse(row.run_ids) as string[]), ...runs.map((r) => r.id)]
      await execute(
        tx,
        "UPDATE events SET run_ids = $1, outcome = 'started', reason = NULL WHERE id = $2",
        [JSON.stringify(runIds), eventId],
      )
    })
  }

  async getEvent(id: string) {
    const [row] = await select<EventRow>(this.pool, 'SELECT * FROM events WHERE id = $1', [id])
    return row ? toEvent(row) : null
  }

  async listEvents(
    filter: EventFilter,
    before: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    const { where, params } = conditions({ source: filter.source, outcome: filter.outcome }, before)
    const found = await select<EventRow>(
      this.pool,
      `SELECT * FROM events ${where} ORDER BY id DESC LIMIT $${params.length + 1}`,
      [...params, limit + 1],
    )
    return page(found.map(toEvent), limit)
  }

  // A run and its steps come in one statement, so they are read from one snapshot.
  async getRun(id: string) {
    const [row] = await select<RunWithSteps>(
      this.pool,
      `SELECT runs.*, ${STEPS_OF_RUN} FROM runs WHERE id = $1`,
      [id],
    )
    return row ? toRun(row, row.steps) : null
  }

  async listRuns(filter: RunFilter, before: string | null, limit: number): Promise<Page<Run>> {
    const { where, params } = conditions(
      { repository: filter.repository, chain: filter.chain, state: filter.state },
      before,
    )
    const found = await select<RunWithSteps>(
      this.pool,
      `SELECT runs.*, ${STEPS_OF_RUN} FROM runs ${where} ORDER BY id DESC LIMIT $${params.length + 1}`,
      [...params, limit + 1],
    )
    return page(
      found.map((r) => toRun(r, r.steps)),
      limit,
    )
  }

  async saveTransition(run: Run, jobs: NewJob[], callback?: CallbackRecord): Promise<boolean> {
    return this.transaction(async (tx) => {
      // Under READ COMMITTED a concurrent writer's UPDATE waits for ours, then finds the new version.
      const updated = await execute(
        tx,
        'UPDATE runs SET state = $1, finished_at = $2, version = $3 WHERE id = $4 AND version = $5',
        [run.state, run.finishedAt, run.version, run.id, run.version - 1],
      )
      if (updated === 0) return new Abandoned(false)
      const n = STEP_COLUMNS.length
      const update = `UPDATE steps SET ${STEP_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE run_id = $${n + 1} AND idx = $${n + 2}`
      for (const s of run.steps) await execute(tx, update, [...stepParams(s), run.id, s.index])
      await insertJobs(tx, jobs)
      if (callback) await insertCallback(tx, callback)
      return true
    })
  }

  async recordCallback(callback: CallbackRecord): Promise<void> {
    await insertCallback(this.pool, callback)
  }

  async callbacksFor(runId: string): Promise<CallbackRecord[]> {
    const found = await select<CallbackRow>(
      this.pool,
      'SELECT * FROM callbacks WHERE run_id = $1 ORDER BY id',
      [runId],
    )
    return found.map(toCallback)
  }

  async addToken(hash: string, token: TokenRecord): Promise<void> {
    await execute(
      this.pool,
      'INSERT INTO tokens (hash, run_id, idx, generation) VALUES ($1, $2, $3, $4)',
      [hash, token.runId, token.step, token.generation],
    )
  }

  async findToken(hash: string): Promise<TokenRecord | null> {
    const [row] = await select<{ run_id: string; idx: number; generation: number }>(
      this.pool,
      'SELECT run_id, idx, generation FROM tokens WHERE hash = $1',
      [hash],
    )
    return row ? { runId: row.run_id, step: row.idx, generation: row.generation } : null
  }

  async claimJobs(owner: string, now: number, leaseMs: number, limit: number): Promise<Job[]> {
    // SKIP LOCKED: relays claiming at the same moment pass over each other's rows instead of
    // waiting for them, and a row taken meanwhile fails the re-checked lease condition.
    const found = await select<JobRow>(
      this.pool,
      `UPDATE outbox SET lease_owner = $1, lease_until = $2
       WHERE id IN (
         SELECT id FROM outbox WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
         ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [owner, now + leaseMs, now, limit],
    )
    return found.map(toJob).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
  }

  async renewLeases(owner: string, ids: readonly number[], until: number): Promise<number> {
    if (ids.length === 0) return 0
    return execute(
      this.pool,
      'UPDATE outbox SET lease_until = $1 WHERE lease_owner = $2 AND id = ANY($3::bigint[])',
      [until, owner, ids],
    )
  }

  async finishJob(id: number, owner: string): Promise<void> {
    await execute(this.pool, 'DELETE FROM outbox WHERE id = $1 AND lease_owner = $2', [id, owner])
  }

  async rescheduleJob(
    id: number,
    owner: string,
    dueAt: number,
    error: string,
    { tried = true }: { tried?: boolean } = {},
  ): Promise<void> {
    await execute(
      this.pool,
      'UPDATE outbox SET due_at = $1, tries = tries + $2, last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4 AND lease_owner = $5',
      [dueAt, tried ? 1 : 0, error, id, owner],
    )
  }

  async reserveSlot(
    key: string,
    intervalMs: number,
    now: number,
    latest?: number,
  ): Promise<number> {
    // Rounded up: a slot a fraction of a millisecond early would pace a little too fast.
    const [taken] = await select<{ slot: string }>(
      this.pool,
      `INSERT INTO write_slots (key, next_at) VALUES ($1, $2::bigint + $3::bigint)
       ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(write_slots.next_at, $2::bigint) + $3::bigint
       WHERE $4::bigint IS NULL OR write_slots.next_at <= $4::bigint
       RETURNING next_at - $3::bigint AS slot`,
      [
        key,
        Math.floor(now),
        Math.ceil(intervalMs),
        latest === undefined ? null : Math.floor(latest),
      ],
    )
    if (taken) return Number(taken.slot)
    // Refused: next_at was past `latest`, and it only ever grows, so it still is.
    const [free] = await select<{ next_at: string }>(
      this.pool,
      'SELECT next_at FROM write_slots WHERE key = $1',
      [key],
    )
    return Number(free?.next_at)
  }

  async outboxDepth(): Promise<number> {
    const [row] = await select<{ n: number }>(
      this.pool,
      'SELECT count(*)::int AS n FROM outbox',
      [],
    )
    return row?.n ?? 0
  }

  async startAttempt(attempt: Attempt): Promise<number> {
    const [row] = await select<{ id: string }>(
      this.pool,
      'INSERT INTO attempts (run_id, idx, kind, target, request, status, error, duration_ms, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id',
      attemptParams(attempt),
    )
    return Number(row?.id)
  }

  async recordAttempts(attempts: Attempt[], replacing?: number): Promise<void> {
    await this.transaction(async (tx) => {
      if (replacing !== undefined)
        await execute(tx, 'DELETE FROM attempts WHERE id = $1', [replacing])
      if (attempts.length === 0) return
      const { text, params } = valuesList(attempts.map(attemptParams))
      await execute(
        tx,
        `INSERT INTO attempts (run_id, idx, kind, target, request, status, error, duration_ms, started_at) VALUES ${text}`,
        params,
      )
    })
  }

  async attemptsFor(runIds: readonly string[]): Promise<Attempt[]> {
    if (runIds.length === 0) return []
    const found = await select<AttemptRow>(
      this.pool,
      'SELECT * FROM attempts WHERE run_id = ANY($1) ORDER BY id',
      [runIds],
    )
    return found.map(toAttempt)
  }

  async overdueSteps(nowIso: string, limit: number) {
    const found = await select<{ run_id: string; idx: number }>(
      this.pool,
      `SELECT run_id, idx FROM steps WHERE deadline IS NOT NULL AND deadline <= $1 AND state IN ('dispatching', 'running', 'pending') ORDER BY deadline LIMIT $2`,
      [nowIso, limit],
    )
    return found.map((r) => ({ runId: r.run_id, step: r.idx }))
  }

  async countRunsByState() {
    const found = await select<{ state: RunState; n: number }>(
      this.pool,
      'SELECT state, count(*)::int AS n FROM runs GROUP BY state',
      [],
    )
    return Object.fromEntries(found.map((r) => [r.state, r.n]))
  }

  async prune(beforeIso: string, limit: number) {
    return this.transaction(async (tx) => {
      const ids = (
        await select<{ id: string }>(
          tx,
          "SELECT id FROM runs WHERE created_at < $1 AND state <> 'running' ORDER BY id LIMIT $2 FOR UPDATE",
          [beforeIso, limit],
        )
      ).map((r) => r.id)
      if (ids.length) {
        for (const table of ['attempts', 'callbacks', 'tokens', 'outbox', 'steps']) {
          await execute(tx, `DELETE FROM ${table} WHERE run_id = ANY($1)`, [ids])
        }
        await execute(tx, 'DELETE FROM runs WHERE id = ANY($1)', [ids])
      }
      const events = await execute(
        tx,
        'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.event_id = events.id) ORDER BY id LIMIT $2)',
        [beforeIso, limit],
      )
      return { runs: ids.length, events }
    })
  }

  /**
   * Runs `work` between BEGIN and COMMIT on one connection; ROLLBACK when it throws or returns
   * `Abandoned`. A connection whose ROLLBACK fails is dropped from the pool, not reused.
   */
  private async transaction<T>(work: (tx: pg.PoolClient) => Promise<T | Abandoned<T>>): Promise<T> {
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
      if (outcome instanceof Abandoned) {
        await client.query('ROLLBACK')
        return outcome.result
      }
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

type RunWithSteps = RunRow & { steps: StepRow[] }

const STEPS_OF_RUN =
  "(SELECT coalesce(json_agg(steps), '[]'::json) FROM steps WHERE steps.run_id = runs.id) AS steps"

/**
 * An event with its runs, their steps and their outbox jobs, in one statement and so one round
 * trip (a transaction of its own). The rows go as JSON arrays and take the tables' column types
 * (json_populate_recordset); they are added only with the event: a repeated delivery adds nothing
 * and returns no row.
 */
const RECORD_EVENT = `WITH event AS (
  INSERT INTO events (id, source, delivery_id, received_at, outcome, reason, content_type, payload, pushes, run_ids)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id
), new_runs AS (
  INSERT INTO runs (${RUN_COLUMNS.join(', ')})
  SELECT ${RUN_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::runs, $11)
  WHERE EXISTS (SELECT FROM event)
), new_steps AS (
  INSERT INTO steps (run_id, idx, ${STEP_COLUMNS.join(', ')})
  SELECT run_id, idx, ${STEP_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::steps, $12)
  WHERE EXISTS (SELECT FROM event)
), new_jobs AS (
  INSERT INTO outbox (${JOB_COLUMNS.join(', ')})
  SELECT ${JOB_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::outbox, $13)
  WHERE EXISTS (SELECT FROM event)
)
SELECT id FROM event`

/** Rows as a JSON array of objects keyed by column, for json_populate_recordset. */
function jsonRows(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(
    rows.map((row) => Object.fromEntries(storable(row).map((value, i) => [columns[i], value]))),
  )
}

async function insertRuns(db: Queryable, runs: readonly Run[]): Promise<void> {
  if (runs.length === 0) return
  const inserted = valuesList(runs.map(runParams))
  await execute(
    db,
    `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES ${inserted.text}`,
    inserted.params,
  )
  const steps = stepRows(runs)
  if (steps.length === 0) return
  const values = valuesList(steps)
  await execute(
    db,
    `INSERT INTO steps (run_id, idx, ${STEP_COLUMNS.join(', ')}) VALUES ${values.text}`,
    values.params,
  )
}

async function insertJobs(db: Queryable, jobs: readonly NewJob[]): Promise<void> {
  if (jobs.length === 0) return
  const { text, params } = valuesList(jobs.map(jobParams))
  await execute(db, `INSERT INTO outbox (${JOB_COLUMNS.join(', ')}) VALUES ${text}`, params)
}

async function insertCallback(db: Queryable, c: CallbackRecord): Promise<void> {
  await execute(
    db,
    'INSERT INTO callbacks (run_id, idx, generation, received_at, body, outcome) VALUES ($1, $2, $3, $4, $5, $6)',
    callbackParams(c),
  )
}

/** `($1, $2), ($3, $4)` for a multi-row INSERT, with its parameters in order. */
function valuesList(list: readonly (readonly unknown[])[]): { text: string; params: unknown[] } {
  const params: unknown[] = []
  const text = list
    .map((row) => `(${row.map((value) => `$${params.push(value)}`).join(', ')})`)
    .join(', ')
  return { text, params }
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite keeps: a NUL in a body or a callback field would
 * fail the whole write. It is stored as U+FFFD, the character for "unrepresentable".
 */
function storable(params: readonly unknown[]): unknown[] {
  return params.map((p) =>
    typeof p === 'string' && p.includes('\0') ? p.replaceAll('\0', '\uFFFD') : p,
  )
}

async function select<T>(db: Queryable, text: string, params: readonly unknown[]): Promise<T[]> {
  return (await db.query(text, storable(params))).rows as T[]
}

/** Returns how many rows the statement changed. */
async function execute(db: Queryable, text: string, params: readonly unknown[]): Promise<number> {
  return (await db.query(text, storable(params))).rowCount ?? 0
}

function conditions(filter: Record<string, string | undefined>, before: string | null) {
  const clauses: string[] = []
  const params: unknown[] = []
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    params.push(value)
    clauses.push(`${column} = $${params.length}`)
  }
  if (before) {
    params.push(before)
    clauses.push(`id < $${params.length}`)
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

function page<T extends { id: string }>(items: T[], limit: number): Page<T> {
  const shown = items.slice(0, limit)
  return { items: shown, nextCursor: items.length > limit ? (shown.at(-1)?.id ?? null) : null }
}
