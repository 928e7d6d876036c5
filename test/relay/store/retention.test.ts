import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { advance } from '../../../src/relay/runs/engine.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { startRetention } from '../../../src/relay/store/retention.js'
import type { Store } from '../../../src/relay/store/store.js'
import { push, release } from '../runs/run-fixture.js'
import { sqliteFactory } from './store-factories.js'

const DAY = 86_400_000
const now = new Date('2026-11-26T12:00:00Z')

describe('retention', () => {
  let store: Store
  let dispose: () => Promise<void>
  beforeEach(async () => {
    ;({ store, dispose } = await sqliteFactory.create())
  })
  afterEach(async () => dispose())

  async function seed(ageDays: number, ended: boolean, n: number) {
    for (let i = 0; i < n; i++) {
      const at = new Date(now.getTime() - ageDays * DAY + i)
      const intake = takeIn(
        {
          source: 'dockerhub',
          normalised: { deliveryId: `${ageDays}-${ended}-${i}`, pushes: [push], ignored: null },
          contentType: null,
          payload: '{}',
          receivedAt: at,
        },
        [release],
      )
      await store.recordEvent(intake.event, intake.runs, intake.jobs)
      const run = intake.runs[0]
      if (ended && run) {
        const t = advance(
          run,
          { type: 'callback', step: 1, generation: 1, callback: { state: 'failure' } },
          at,
        )
        if (t.ok) await store.saveTransition({ ...t.run, version: 1 }, [])
      }
    }
  }

  it('deletes ended runs and events older than max_age in small batches, and keeps the rest', async () => {
    await seed(40, true, 25)
    await seed(40, false, 3)
    await seed(5, true, 4)
    const retention = startRetention({
      store,
      maxAgeMs: 30 * DAY,
      logger: pino({ level: 'silent' }),
      now: () => now,
      batch: 10,
      intervalMs: 3_600_000,
    })
    try {
      await retention.pruneNow()
      const left = await store.listRuns({}, null, 100)
      expect(left.items).toHaveLength(7)
      expect(left.items.filter((r) => r.state === 'running')).toHaveLength(3)
      expect(await store.countRunsByState()).toEqual({ running: 3, failure: 4 })
      const events = await store.listEvents({}, null, 100)
      expect(events.items).toHaveLength(7)
    } finally {
      retention.stop()
    }
  })
})
