import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRunWatch, type RunWatch } from '../../../src/relay/runs/run-watch.js'

const logger = pino({ level: 'silent' })
let watch: RunWatch | undefined
afterEach(() => watch?.close())

/** A database of run versions, and the queries the watch made of it. */
function versions(initial: Record<string, number>) {
  const rows = new Map(Object.entries(initial))
  const queries: string[][] = []
  return {
    rows,
    queries,
    read: async (ids: readonly string[]) => {
      queries.push([...ids])
      return ids.flatMap((id) => (rows.has(id) ? [{ id, version: rows.get(id) ?? 0 }] : []))
    },
  }
}

describe('the run watch', () => {
  it("ends a wait as soon as this relay saves the run's next version, without asking the database", async () => {
    const db = versions({ r1: 3 })
    watch = createRunWatch({ versions: db.read, intervalMs: 60_000, logger })
    const started = Date.now()
    const waiting = watch.waitForChange('r1', 3, 5000)
    expect(watch.waiting()).toBe(1)
    watch.changed('r1', 3)
    watch.changed('r2', 9)
    watch.changed('r1', 4)
    expect(await waiting).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(watch.waiting()).toBe(0)
    expect(db.queries).toEqual([])
  })

  it("finds another relay's change with one query for every run waited for", async () => {
    const db = versions({ r1: 1, r2: 1 })
    watch = createRunWatch({ versions: db.read, intervalMs: 50, logger })
    const first = watch.waitForChange('r1', 1, 5000)
    const second = watch.waitForChange('r2', 1, 300)
    db.rows.set('r1', 2)
    expect(await first).toBe(true)
    expect(await second).toBe(false)
    expect(db.queries[0]?.sort()).toEqual(['r1', 'r2'])
  })

  it('ends a wait for a run that is gone, so that the caller answers 404', async () => {
    const db = versions({})
    watch = createRunWatch({ versions: db.read, intervalMs: 20, logger })
    expect(await watch.waitForChange('deleted', 1, 5000)).toBe(true)
  })

  it('answers at once when the run was saved between the read and the wait', async () => {
    const db = versions({ r1: 5 })
    watch = createRunWatch({ versions: db.read, intervalMs: 60_000, logger })
    watch.changed('r1', 6)
    expect(await watch.waitForChange('r1', 5, 5000)).toBe(true)
  })

  it('ends waits with no change when it times out, is aborted or closes, and stops asking', async () => {
    const db = versions({ r1: 1 })
    watch = createRunWatch({ versions: db.read, intervalMs: 20, logger })
    expect(await watch.waitForChange('r1', 1, 60)).toBe(false)
    const gone = new AbortController()
    const aborted = watch.waitForChange('r1', 1, 5000, gone.signal)
    gone.abort()
    expect(await aborted).toBe(false)
    const closing = watch.waitForChange('r1', 1, 5000)
    watch.close()
    expect(await closing).toBe(false)
    expect(await watch.waitForChange('r1', 1, 5000)).toBe(false)
    const asked = db.queries.length
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(db.queries.length).toBe(asked)
  })

  it('keeps waiting when the database does not answer, and finds the change once it does', async () => {
    const db = versions({ r1: 1 })
    let down = true
    watch = createRunWatch({
      versions: (ids) => (down ? Promise.reject(new Error('connection refused')) : db.read(ids)),
      intervalMs: 20,
      logger,
    })
    const waiting = watch.waitForChange('r1', 1, 5000)
    await new Promise((resolve) => setTimeout(resolve, 80))
    db.rows.set('r1', 2)
    down = false
    expect(await waiting).toBe(true)
  })
})
