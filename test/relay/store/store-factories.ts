import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteStore } from '../../../src/relay/store/sqlite-store.js'
import type { Store } from '../../../src/relay/store/store.js'
import { postgresFactory } from './postgres-factory.js'

export interface StoreFactory {
  name: string
  /** A fresh, migrated, empty store; `dispose` removes everything it made. */
  create(): Promise<{ store: Store; dispose(): Promise<void> }>
}

export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'hookchain-store-'))
    const store = new SqliteStore(join(dir, 'hookchain.db'))
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

/** Every store the suites run against. */
export const storeFactories: StoreFactory[] = [sqliteFactory, postgresFactory]
