import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { operationMethods } from './operation-methods.js'
import { OPERATIONS, type OperationName, type StoreOperations } from './operations/index.js'
import { type Operation, type Query, textFor } from './query.js'
import { sqliteMigrations } from './sqlite-migrations.js'
import type { Store } from './store.js'

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

/** Its methods are made in the constructor, one per operation of the catalogue. */
export interface SqliteStore extends StoreOperations {}

/** The embedded store: one SQLite file in WAL mode, every write one transaction. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
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
    Object.assign(
      this,
      operationMethods((name, args) => this.perform(name, args)),
    )
  }

  /** Reads run at once; writes join the group commit of this turn of the event loop. */
  private perform(name: OperationName, args: unknown[]): Promise<unknown> {
    const spec = OPERATIONS[name] as {
      kind: string
      steps: (...a: unknown[]) => Operation<unknown>
    }
    const work = () => this.runSteps(spec.steps('sqlite', ...args))
    if (spec.kind !== 'read') return this.write(work)
    try {
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(error)
    }
  }

  private runSteps<T>(steps: Operation<T>): T {
    let next = steps.next()
    while (!next.done) next = steps.next(this.execute(next.value))
    return next.value
  }

  private execute({ mode, statement, params }: Query): unknown {
    const prepared = this.sql(textFor(statement, 'sqlite'))
    if (mode === 'all') return prepared.all(...params)
    if (mode === 'get') return prepared.get(...params)
    return prepared.run(...params).changes
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
}

function isLockError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)
}
