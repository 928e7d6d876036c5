import { resolve } from 'node:path'
import { SqliteWorkerStore } from './sqlite-worker-store.js'
import type { Store } from './store.js'

export const DEFAULT_DATABASE_URL = 'sqlite:./data/hookchain.db'

export interface OpenStoreOptions {
  /** The store can no longer work: its SQLite thread stopped. (PostgreSQL reconnects by itself.) */
  onFailure?: (error: Error) => void
}

/** `sqlite:<path>` (relative to the working directory; `sqlite::memory:` for a throwaway) or `postgres://…`. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '')
    if (!path)
      throw new Error(`database URL ${url} names no file; write it like sqlite:./data/hookchain.db`)
    return new SqliteWorkerStore(path === ':memory:' ? path : resolve(path), options.onFailure)
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Loaded only when asked for, so a SQLite relay never opens pg.
    const { PostgresStore } = await import('./postgres-store.js')
    return new PostgresStore(url)
  }
  throw new Error(
    `database URL ${url} is not understood; use sqlite:./data/hookchain.db or postgres://user@host/db`,
  )
}
