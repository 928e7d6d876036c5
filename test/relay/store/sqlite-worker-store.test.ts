// What the thread adds to the SQLite store: errors that cross it intact, and calls that never hang
// once the thread is gone. The store's own behaviour is the shared suite in store.test.ts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../../../src/relay/store/open-store.js'
import { SqliteWorkerStore } from '../../../src/relay/store/sqlite-worker-store.js'
import { eventually, startTestRelay, testSettings } from '../relay-harness.js'
import { delivery } from './delivery-fixture.js'

describe('the SQLite store on its thread', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-worker-store-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('is what openStore gives for a sqlite: URL', async () => {
    const store = await openStore(`sqlite:${join(dir, 'relay.db')}`)
    try {
      expect(store).toBeInstanceOf(SqliteWorkerStore)
      await store.migrate()
      const intake = delivery('d1')
      // A new event's record does not cross back from the thread; the answer is the same.
      expect(await store.recordEvent(intake.event, intake.runs, intake.jobs)).toEqual({
        duplicate: false,
        event: intake.event,
      })
      expect(await store.getEvent(intake.event.id)).toEqual(intake.event)
      const again = delivery('d1')
      expect(await store.recordEvent(again.event, again.runs, again.jobs)).toEqual({
        duplicate: true,
        event: { ...intake.event, duplicates: 1, lastDuplicateAt: again.event.receivedAt },
      })
    } finally {
      await store.close()
    }
  })

  it("passes SQLite's error on with its code: a database that cannot be opened", async () => {
    // A directory where the file should be: SQLite cannot open it.
    const store = new SqliteWorkerStore(dir)
    try {
      await expect(store.migrate()).rejects.toMatchObject({
        code: 'SQLITE_CANTOPEN',
        message: expect.stringMatching(/unable to open database file/),
      })
      // Every later call says the same, rather than waiting for a thread that cannot serve it.
      await expect(store.ping()).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' })
    } finally {
      await store.close()
    }
  })

  it('passes on an error of the store itself', async () => {
    const store = new SqliteWorkerStore(join(dir, 'relay.db'))
    try {
      await store.migrate()
      await expect(store.addRuns('no-such-event', [], [])).rejects.toThrow(
        'event no-such-event does not exist',
      )
    } finally {
      await store.close()
    }
  })

  it('answers each of the calls made together (they cross as one message) with its own result', async () => {
    const store = new SqliteWorkerStore(join(dir, 'relay.db'))
    try {
      await store.migrate()
      const intakes = Array.from({ length: 20 }, (_, i) => delivery(`together-${i}`))
      const calls = intakes.map((intake, i) =>
        i === 7
          ? store.addRuns('no-such-event', [], [])
          : store.recordEvent(intake.event, intake.runs, intake.jobs),
      )
      const settled = await Promise.allSettled(calls)
      settled.forEach((result, i) => {
        if (i === 7) {
          expect(result).toMatchObject({
            status: 'rejected',
            reason: { message: 'event no-such-event does not exist' },
          })
        } else {
          expect(result).toEqual({
            status: 'fulfilled',
            value: { duplicate: false, event: intakes[i]?.event },
          })
        }
      })
      const read = await Promise.all(intakes.map((intake) => store.getEvent(intake.event.id)))
      expect(read).toEqual(intakes.map((intake, i) => (i === 7 ? null : intake.event)))
    } finally {
      await store.close()
    }
  })

  it('refuses calls once closed, and closes twice without harm', async () => {
    const failures: Error[] = []
    const store = new SqliteWorkerStore(join(dir, 'relay.db'), (error) => failures.push(error))
    await store.migrate()
    await store.close()
    await store.close()
    await expect(store.ping()).rejects.toThrow('the SQLite store is closed')
    // Closing is not a failure.
    expect(failures).toEqual([])
  })

  it('commits what was asked for before close', async () => {
    const file = join(dir, 'relay.db')
    const store = new SqliteWorkerStore(file)
    await store.migrate()
    const intake = delivery('d-before-close')
    const written = store.recordEvent(intake.event, intake.runs, intake.jobs)
    await store.close()
    await expect(written).resolves.toMatchObject({ duplicate: false })
    const again = new SqliteWorkerStore(file)
    try {
      expect(await again.getEvent(intake.event.id)).toEqual(intake.event)
    } finally {
      await again.close()
    }
  })

  it('fails every waiting and later call when its thread dies, and tells its owner once', async () => {
    const file = join(dir, 'relay.db')
    const failures: Error[] = []
    const store = new SqliteWorkerStore(file, (error) => failures.push(error))
    await store.migrate()
    // Another connection holds the write lock, so the write below is still waiting when the
    // thread goes.
    const other = new Database(file)
    other.exec('BEGIN IMMEDIATE')
    try {
      const intake = delivery('d-waiting')
      const waiting = store.recordEvent(intake.event, intake.runs, intake.jobs)
      await (store as unknown as { thread: Worker }).thread.terminate()
      await expect(waiting).rejects.toThrow(/thread exited/)
      await expect(store.ping()).rejects.toThrow(/thread exited/)
      await store.close()
      expect(failures.map((error) => error.message)).toEqual([
        expect.stringMatching(/thread exited/),
      ])
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
  })

  it("is how a relay's store fails: the relay hears it, and readiness answers 503", async () => {
    const failures: Error[] = []
    const t = await startTestRelay(testSettings('http://127.0.0.1:1'), {
      onStoreFailure: (error) => failures.push(error),
    })
    try {
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200)
      await (t.relay.store as unknown as { thread: Worker }).thread.terminate()
      await eventually(() => (failures.length ? true : undefined))
      expect(failures[0]?.message).toMatch(/thread exited/)
      const ready = await fetch(`${t.url}/readyz`)
      expect(ready.status).toBe(503)
      expect((await ready.json()) as { detail: string }).toMatchObject({
        detail: expect.stringMatching(/thread exited/),
      })
    } finally {
      await t.close()
    }
  })
})
