import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Run, RunState } from '../chains/run.js'
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
  toAttempt,
  toCallback,
  toEvent,
  toJob,
  toRun,
} from './rows.js'
import { sqliteMigrations } from './sqlite-migrations.js'
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

/** Built once: `sql()` looks its statement up by its text, and these run for every run and step. */
const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES (${RUN_COLUMNS.map(() => '?').join(', ')})`
const INSERT_STEP = `INSERT INTO steps (run_id, idx, ${STEP_COLUMNS.join(', ')}) VALUES (?, ?, ${STEP_COLUMNS.map(() => '?').join(', ')})`
const INSERT_JOB = `INSERT INTO outbox (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map(() => '?').join(', ')})`
const UPDATE_STEP = `UPDATE steps SET ${STEP_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE run_id = ? AND idx = ?`

/** How long a write waits for a lock held by another connection before it fails. */
const LOCK_WAIT_MS = 1000
const LOCK_RETRY_MS = 20

interface PendingWrite {
  work: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  /** When the write was asked for (ms). */
  since: number
}

/** The embedded store: one SQLite file in WAL mode, every write one transaction. */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const
  private readonly db: Database.Database
  private readonly statements = new Map<string, Database.Statement>()
  /** Made once, so that their BEGIN and COMMIT statements are prepared once. */
  private readonly batch: Database.Transaction<(works: (() => unknown)[]) => unknown[]>
  private readonly single: Database.Transaction<(work: () => unknown) => unknown>
  private readonly pending: PendingWrite[] = []
  /** Set while writes wait for a lock that another connection holds. */
  private lockWait: NodeJS.Timeout | null = null

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    // FULL: an acknowledged event survives a power cut, not only a crash of the relay.
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    // better-sqlite3 would wait for a lock synchronously, stalling every request while another
    // process (a backup, the sqlite3 shell) holds it: writes wait in flush() instead, without
    // blocking the event loop.
    this.db.pragma('busy_timeout = 0')
    this.batch = this.db.transaction((works: (() => unknown)[]) => works.map((work) => work()))
    this.single = this.db.transaction((work: () => unknown) => work())
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text)
    if (!statement) {
      statement = this.db.prepare(text)
      this.statements.set(text, statement)
    }
    return statement
  }

  /**
   * Group commit: every write asked for in the same turn of the event loop runs in one
   * transaction, so one commit (and one fsync) serves them all. Should one of them fail, the batch
   * is rolled back and each write is run again in a transaction of its own, so that a failing
   * write fails alone. A promise resolves only once its write is committed.
   */
  private write<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({
        work,
        resolve: resolve as (value: unknown) => void,
        reject,
        since: Date.now(),
      })
      if (this.pending.length === 1 && !this.lockWait) setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    this.lockWait = null
    const batch = this.pending.splice(0)
    if (batch.length === 0) return
    let values: unknown[]
    try {
      values = this.batch.immediate(batch.map((item) => item.work))
    } catch (error) {
      if (isLockError(error)) {
        this.waitForLock(batch, error)
        return
      }
      for (const { work, resolve, reject } of batch) {
        try {
          resolve(this.single.immediate(work))
        } catch (error) {
          reject(error)
        }
      }
      return
    }
    for (const [i, { resolve }] of batch.entries()) resolve(values[i])
  }

  /**
   * Another connection holds the write lock: the batch (and writes asked for meanwhile) tries again
   * shortly; a write that has waited LOCK_WAIT_MS fails with the lock error.
   */
  private waitForLock(batch: PendingWrite[], error: unknown): void {
    const now = Date.now()
    const waiting = batch.filter((item) => now - item.since < LOCK_WAIT_MS)
    for (const item of batch) if (!waiting.includes(item)) item.reject(error)
    this.pending.unshift(...waiting)
    if (this.pending.length) this.lockWait = setTimeout(() => this.flush(), LOCK_RETRY_MS)
  }

  async migrate(): Promise<void> {
    // Start-up may wait for another relay migrating the same file.
    this.db.pragma('busy_timeout = 5000')
    try {
      this.applyMigrations()
    } finally {
      this.db.pragma('busy_timeout = 0')
    }
  }

  private applyMigrations(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    )
    const apply = this.db.transaction(() => {
      const done = new Set(
        (this.sql('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
          (r) => r.version,
        ),
      )
      for (const m of sqliteMigrations) {
        if (done.has(m.version)) continue
        this.db.exec(m.sql)
        this.sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          new Date().toISOString(),
        )
      }
    })
    apply.immediate()
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get()
  }

  async close(): Promise<void> {
    if (this.lockWait) {
      clearTimeout(this.lockWait)
      this.flush()
      if (this.lockWait) clearTimeout(this.lockWait)
      for (const { reject } of this.pending.splice(0))
        reject(
          new Error('the SQLite store closed while its database was locked by another process'),
        )
    }
    if (this.pending.length) await new Promise((resolve) => setImmediate(resolve))
    if (this.db.open) this.db.close()
  }

  async recordEvent(event: EventRecord, runs: Run[], jobs: NewJob[]) {
    return this.write(() => {
      const inserted = this.sql(
        'INSERT INTO events (id, source, delivery_id, received_at, outcome, reason, content_type, payload, pushes, run_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, delivery_id) DO NOTHING',
      ).run(...eventParams(event))
      if (inserted.changes === 0) {
        const first = this.sql('SELECT * FROM events WHERE source = ? AND delivery_id = ?').get(
          event.source,
          event.deliveryId,
        ) as EventRow
        return { duplicate: true, event: toEvent(first) }
      }
      for (const run of runs) this.insertRun(run)
      this.insertJobs(jobs)
      return { duplicate: false, event }
    })
  }

  private insertRun(run: Run): void {
    this.sql(INSERT_RUN).run(...runParams(run))
    const step = this.sql(INSERT_STEP)
    for (const s of run.steps) step.run(run.id, s.index, ...stepParams(s))
  }

  private insertJobs(jobs: NewJob[]): void {
    const insert = this.sql(INSERT_JOB)
    for (const j of jobs) insert.run(...jobParams(j))
  }

  async addRuns(eventId: string, runs: Run[], jobs: NewJob[]): Promise<void> {
    return this.write(() => {
      const row = this.sql('SELECT run_ids FROM events WHERE id = ?').get(eventId) as
        | { run_ids: string }
        | undefined
      if (!row) throw new Error(`event ${eventId} does not exist`)
      for (const run of runs) this.insertRun(run)
      this.insertJobs(jobs)
      const runIds = [...(JSON.parse(row.run_ids) as string[]), ...runs.map((r) => r.id)]
      this.sql(
        "UPDATE events SET run_ids = ?, outcome = 'started', reason = NULL WHERE id = ?",
      ).run(JSON.stringify(runIds), eventId)
    })
  }

  async getEvent(id: string) {
    const row = this.sql('SELECT * FROM events WHERE id = ?').get(id) as EventRow | undefined
    return row ? toEvent(row) : null
  }

  async listEvents(
    filter: EventFilter,
    before: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    const { where, params } = conditions({ source: filter.source, outcome: filter.outcome }, before)
    const rows = this.sql(`SELECT * FROM events ${where} ORDER BY id DESC LIMIT ?`).all(
      ...params,
      limit + 1,
    ) as EventRow[]
    return page(rows.map(toEvent), limit)
  }

  async getRun(id: string) {
    const row = this.sql('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined
    if (!row) return null
    const steps = this.sql('SELECT * FROM steps WHERE run_id = ?').all(id) as StepRow[]
    return toRun(row, steps)
  }

  async listRuns(filter: RunFilter, before: string | null, limit: number): Promise<Page<Run>> {
    const { where, params } = conditions(
      { repository: filter.repository, chain: filter.chain, state: filter.state },
      before,
    )
    const rows = this.sql(`SELECT * FROM runs ${where} ORDER BY id DESC LIMIT ?`).all(
      ...params,
      limit + 1,
    ) as RunRow[]
    const shown = rows.slice(0, limit)
    const steps = shown.length
      ? (this.sql(`SELECT * FROM steps WHERE run_id IN (${shown.map(() => '?').join(', ')})`).all(
          ...shown.map((r) => r.id),
        ) as StepRow[])
      : []
    return page(
      rows.map((r) =>
        toRun(
          r,
          steps.filter((s) => s.run_id === r.id),
        ),
      ),
      limit,
    )
  }

  async saveTransition(run: Run, jobs: NewJob[], callback?: CallbackRecord): Promise<boolean> {
    return this.write(() => {
      const updated = this.sql(
        'UPDATE runs SET state = ?, finished_at = ?, version = ? WHERE id = ? AND version = ?',
      ).run(run.state, run.finishedAt, run.version, run.id, run.version - 1)
      if (updated.changes === 0) return false
      const step = this.sql(UPDATE_STEP)
      for (const s of run.steps) step.run(...stepParams(s), run.id, s.index)
      this.insertJobs(jobs)
      if (callback) this.insertCallback(callback)
      return true
    })
  }

  private insertCallback(c: CallbackRecord): void {
    this.sql(
      'INSERT INTO callbacks (run_id, idx, generation, received_at, body, outcome) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(...callbackParams(c))
  }

  async recordCallback(callback: CallbackRecord): Promise<void> {
    return this.write(() => this.insertCallback(callback))
  }

  async callbacksFor(runId: string): Promise<CallbackRecord[]> {
    const rows = this.sql('SELECT * FROM callbacks WHERE run_id = ? ORDER BY id').all(
      runId,
    ) as CallbackRow[]
    return rows.map(toCallback)
  }

  async addToken(hash: string, token: TokenRecord): Promise<void> {
    return this.write(() => {
      this.sql('INSERT INTO tokens (hash, run_id, idx, generation) VALUES (?, ?, ?, ?)').run(
        hash,
        token.runId,
        token.step,
        token.generation,
      )
    })
  }

  async findToken(hash: string): Promise<TokenRecord | null> {
    const row = this.sql('SELECT run_id, idx, generation FROM tokens WHERE hash = ?').get(hash) as
      | { run_id: string; idx: number; generation: number }
      | undefined
    return row ? { runId: row.run_id, step: row.idx, generation: row.generation } : null
  }

  async claimJobs(owner: string, now: number, leaseMs: number, limit: number): Promise<Job[]> {
    const rows = await this.write(
      () =>
        this.sql(
          `UPDATE outbox SET lease_owner = ?, lease_until = ?
           WHERE id IN (SELECT id FROM outbox WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at, id LIMIT ?)
           RETURNING *`,
        ).all(owner, now + leaseMs, now, now, limit) as JobRow[],
    )
    return rows.map(toJob).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
  }

  async renewLeases(owner: string, ids: readonly number[], until: number): Promise<number> {
    if (ids.length === 0) return 0
    return this.write(
      () =>
        this.sql(
          'UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND id IN (SELECT value FROM json_each(?))',
        ).run(until, owner, JSON.stringify(ids)).changes,
    )
  }

  async finishJob(id: number, owner: string): Promise<void> {
    return this.write(() => {
      this.sql('DELETE FROM outbox WHERE id = ? AND lease_owner = ?').run(id, owner)
    })
  }

  async rescheduleJob(
    id: number,
    owner: string,
    dueAt: number,
    error: string,
    { tried = true }: { tried?: boolean } = {},
  ): Promise<void> {
    return this.write(() => {
      this.sql(
        'UPDATE outbox SET due_at = ?, tries = tries + ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
      ).run(dueAt, tried ? 1 : 0, error, id, owner)
    })
  }

  async outboxDepth(): Promise<number> {
    return (this.sql('SELECT count(*) AS n FROM outbox').get() as { n: number }).n
  }

  async startAttempt(attempt: Attempt): Promise<number> {
    return this.write(() =>
      Number(this.insertAttempt().run(...attemptParams(attempt)).lastInsertRowid),
    )
  }

  async recordAttempts(attempts: Attempt[], replacing?: number): Promise<void> {
    return this.write(() => {
      if (replacing !== undefined) this.sql('DELETE FROM attempts WHERE id = ?').run(replacing)
      for (const a of attempts) this.insertAttempt().run(...attemptParams(a))
    })
  }

  private insertAttempt() {
    return this.sql(
      'INSERT INTO attempts (run_id, idx, kind, target, request, status, error, duration_ms, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
  }

  async attemptsFor(runIds: readonly string[]): Promise<Attempt[]> {
    if (runIds.length === 0) return []
    const rows = this.sql(
      `SELECT * FROM attempts WHERE run_id IN (${runIds.map(() => '?').join(', ')}) ORDER BY id`,
    ).all(...runIds) as AttemptRow[]
    return rows.map(toAttempt)
  }

  async overdueSteps(nowIso: string, limit: number) {
    const rows = this.sql(
      `SELECT run_id, idx FROM steps WHERE deadline IS NOT NULL AND deadline <= ? AND state IN ('dispatching', 'running', 'pending') ORDER BY deadline LIMIT ?`,
    ).all(nowIso, limit) as { run_id: string; idx: number }[]
    return rows.map((r) => ({ runId: r.run_id, step: r.idx }))
  }

  async reserveSlot(
    key: string,
    intervalMs: number,
    now: number,
    latest?: number,
  ): Promise<number> {
    // Whole milliseconds, the interval rounded up: a slot a fraction early would pace too fast.
    const slot = {
      key,
      now: Math.floor(now),
      interval: Math.ceil(intervalMs),
      latest: latest === undefined ? null : Math.floor(latest),
    }
    return this.write(() => {
      const taken = this.sql(
        `INSERT INTO write_slots (key, next_at) VALUES (@key, @now + @interval)
         ON CONFLICT (key) DO UPDATE SET next_at = MAX(write_slots.next_at, @now) + @interval
         WHERE @latest IS NULL OR write_slots.next_at <= @latest
         RETURNING next_at - @interval AS slot`,
      ).get(slot) as { slot: number } | undefined
      if (taken) return taken.slot
      // Refused: the next free slot is after `latest`, and nothing changed.
      const free = this.sql('SELECT next_at FROM write_slots WHERE key = ?').get(key) as {
        next_at: number
      }
      return free.next_at
    })
  }

  async countRunsByState() {
    const rows = this.sql('SELECT state, count(*) AS n FROM runs GROUP BY state').all() as {
      state: RunState
      n: number
    }[]
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  }

  async prune(beforeIso: string, limit: number) {
    return this.write(() => {
      const ids = (
        this.sql(
          "SELECT id FROM runs WHERE created_at < ? AND state <> 'running' ORDER BY id LIMIT ?",
        ).all(beforeIso, limit) as { id: string }[]
      ).map((r) => r.id)
      if (ids.length) {
        const list = ids.map(() => '?').join(', ')
        for (const table of ['attempts', 'callbacks', 'tokens', 'outbox', 'steps']) {
          this.sql(`DELETE FROM ${table} WHERE run_id IN (${list})`).run(...ids)
        }
        this.sql(`DELETE FROM runs WHERE id IN (${list})`).run(...ids)
      }
      const events = this.sql(
        'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.event_id = events.id) ORDER BY id LIMIT ?)',
      ).run(beforeIso, limit)
      return { runs: ids.length, events: events.changes }
    })
  }
}

function isLockError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)
}

function conditions(filter: Record<string, string | undefined>, before: string | null) {
  const clauses: string[] = []
  const params: unknown[] = []
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    clauses.push(`${column} = ?`)
    params.push(value)
  }
  if (before) {
    clauses.push('id < ?')
    params.push(before)
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

function page<T extends { id: string }>(items: T[], limit: number): Page<T> {
  const shown = items.slice(0, limit)
  return { items: shown, nextCursor: items.length > limit ? (shown.at(-1)?.id ?? null) : null }
}
