import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteStore } from '../../../src/relay/store/sqlite-store.js'
import { SqliteWorkerStore } from '../../../src/relay/store/sqlite-worker-store.js'
import type { Store } from '../../../src/relay/store/store.js'
import { postgresFactory } from './postgres-factory.js'

export interface StoreFactory {
  name: string
  /** A fresh, migrated, empty store; `dispose` removes everything it made. */
  create(): Promise<{ store: Store; dispose(): Promise<void> }>
}

function sqliteFileFactory(name: string, open: (file: string) => Store): StoreFactory {
  return {
    name,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'hookchain-store-'))
      const store = open(join(dir, 'hookchain.db'))
      await store.migrate()
      return {
        store,
        async dispose() {
          await store.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  }
}

export const sqliteFactory = sqliteFileFactory('sqlite', (file) => new SqliteStore(file))

/** SQLite as the relay opens it: the same store, on a thread of its own. */
export const sqliteWorkerFactory = sqliteFileFactory(
  'sqlite (on its thread)',
  (file) => new SqliteWorkerStore(file),
)

/** Every store the suites run against. */
export const storeFactories: StoreFactory[] = [sqliteFactory, sqliteWorkerFactory, postgresFactory]
