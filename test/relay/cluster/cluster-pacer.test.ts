import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createClusterPacer,
  NoWriteSlotError,
  pacingKey,
  slotWaitLimit,
} from '../../../src/relay/outbox/cluster-pacer.js'
import type { PacerClock } from '../../../src/relay/outbox/write-pacer.js'
import { PostgresStore } from '../../../src/relay/store/postgres-store.js'
import { SqliteStore } from '../../../src/relay/store/sqlite-store.js'
import type { Store } from '../../../src/relay/store/store.js'
import { adminQuery, dropSchema, newSchemaName, schemaUrl } from '../store/postgres-factory.js'

const TOKEN = 'ghp_clusterpacer000000000000000000000000'
const KEY = pacingKey({ kind: 'token', token: TOKEN }, 'https://api.github.com')
const t0 = 1_800_000_000_000

/** Two relays' stores on one database, each with connections of its own. */
interface TwoRelays {
  name: string
  open(): Promise<{ a: Store; b: Store; keys(): Promise<string[]>; close(): Promise<void> }>
}

const databases: TwoRelays[] = [
  {
    name: 'PostgreSQL',
    async open() {
      const schema = newSchemaName()
      const a = new PostgresStore(schemaUrl(schema))
      const b = new PostgresStore(schemaUrl(schema))
      await Promise.all([a.migrate(), b.migrate()])
      return {
        a,
        b,
        keys: async () =>
          (await adminQuery<{ key: string }>(`SELECT key FROM "${schema}".write_slots`)).map(
            (row) => row.key,
          ),
        async close() {
          await Promise.all([a.close(), b.close()])
          await dropSchema(schema)
        },
      }
    },
  },
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'hookchain-pacer-'))
      const file = join(dir, 'hookchain.db')
      const a = new SqliteStore(file)
      await a.migrate()
      const b = new SqliteStore(file)
      await b.migrate()
      return {
        a,
        b,
        keys: async () => {
          const db = new Database(file, { readonly: true })
          try {
            return (db.prepare('SELECT key FROM write_slots').all() as { key: string }[]).map(
              (row) => row.key,
            )
          } finally {
            db.close()
          }
        },
        async close() {
          await Promise.all([a.close(), b.close()])
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
]

/** A clock stopped at `at`, whose sleeps return at once and are only recorded. */
function stoppedClock(at: number, sleeps: number[] = []): PacerClock {
  return { now: () => at, sleep: async (ms) => void sleeps.push(ms) }
}

/** The store, with every slot time the database hands out written down. */
function recording(store: Store, slots: number[]): Pick<Store, 'reserveSlot'> {
  return {
    async reserveSlot(key, intervalMs, now, latest) {
      const slot = await store.reserveSlot(key, intervalMs, now, latest)
      slots.push(slot)
      return slot
    },
  }
}

function gaps(times: readonly number[]): number[] {
  const sorted = [...times].sort((x, y) => x - y)
  return sorted.slice(1).map((time, i) => time - (sorted[i] as number))
}

describe.each(databases)('two relays pacing GitHub writes on one $name database', (database) => {
  let opened: Awaited<ReturnType<TwoRelays['open']>> | null = null
  afterEach(async () => {
    await opened?.close()
    opened = null
  })

  it('hand out slots at least 100 ms apart across both at 600 writes a minute', async () => {
    opened = await database.open()
    const slots: number[] = []
    // The two relays' clocks a little apart, as on two machines, and both moving on.
    let tick = 0
    const clockOf = (offset: number): PacerClock => ({
      now: () => t0 + offset + tick++,
      sleep: async () => {},
    })
    const a = createClusterPacer(recording(opened.a, slots), KEY, 600, clockOf(0))
    const b = createClusterPacer(recording(opened.b, slots), KEY, 600, clockOf(3))
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).acquire()))

    expect(slots).toHaveLength(40)
    for (const gap of gaps(slots)) expect(gap).toBeGreaterThanOrEqual(100)
    // Every slot taken once and back to back while both are busy: nothing lost to a race.
    expect(new Set(gaps(slots))).toEqual(new Set([100]))
  })

  it('sleeps each write until its slot, and starts again from now once the pace has lapsed', async () => {
    opened = await database.open()
    const sleeps: number[] = []
    const a = createClusterPacer(opened.a, KEY, 600, stoppedClock(t0, sleeps))
    const b = createClusterPacer(opened.b, KEY, 600, stoppedClock(t0, sleeps))
    for (let i = 0; i < 3; i++) {
      await a.acquire()
      await b.acquire()
    }
    expect(sleeps).toEqual([100, 200, 300, 400, 500])
    expect(await opened.b.reserveSlot(KEY, 100, t0 + 60_000)).toBe(t0 + 60_000)
  })

  it('refuses a slot later than the longest wait without taking it', async () => {
    opened = await database.open()
    const slots: number[] = []
    const clock = stoppedClock(t0)
    const a = createClusterPacer(recording(opened.a, slots), KEY, 600, clock, 250)
    const b = createClusterPacer(recording(opened.b, slots), KEY, 600, clock, 250)
    await a.acquire() // t0
    await b.acquire() // t0 + 100
    await a.acquire() // t0 + 200
    const refused = await b.acquire().then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(NoWriteSlotError)
    expect((refused as NoWriteSlotError).retryAfterMs).toBe(300)
    expect((refused as NoWriteSlotError).message).toMatch(
      /600 a minute.*next free slot is 0\.3 s away/,
    )
    // Nothing was taken: a relay with a longer wait still gets t0 + 300, the very next slot.
    expect(await opened.a.reserveSlot(KEY, 100, t0, t0 + 1000)).toBe(t0 + 300)
    expect(slots).toEqual([t0, t0 + 100, t0 + 200, t0 + 300])
  })

  it('keeps one row per set of credentials, named by a hash and never by the token', async () => {
    opened = await database.open()
    const app = pacingKey(
      { kind: 'app', appId: '7', privateKey: 'pem', installationId: 9 },
      'https://api.github.com',
    )
    await createClusterPacer(opened.a, KEY, 600, stoppedClock(t0)).acquire()
    await createClusterPacer(opened.b, KEY, 600, stoppedClock(t0)).acquire()
    await createClusterPacer(opened.b, app, 600, stoppedClock(t0)).acquire()
    const keys = await opened.keys()
    expect(keys.sort()).toEqual([KEY, app].sort())
    for (const key of keys) {
      expect(key).not.toContain(TOKEN)
      expect(key).toMatch(/^github-writes:[0-9a-f]{64}$/)
    }
  })

  it('makes no database call when unpaced (0 writes a minute)', async () => {
    opened = await database.open()
    const slots: number[] = []
    const pacer = createClusterPacer(recording(opened.a, slots), KEY, 0, stoppedClock(t0), 10)
    await Promise.all(Array.from({ length: 5 }, () => pacer.acquire()))
    expect(slots).toEqual([])
    expect(await opened.keys()).toEqual([])
  })
})

describe('the longest wait for a write slot', () => {
  it('is a third of the lease, which leaves the rest of it to the request', () => {
    expect(slotWaitLimit(30_000)).toBe(10_000)
    expect(slotWaitLimit(2000)).toBe(666)
  })
})
