import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { newId } from '../../../src/relay/ids.js'
import { advance } from '../../../src/relay/runs/engine.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { startRetention } from '../../../src/relay/store/retention.js'
import type { Store } from '../../../src/relay/store/store.js'
import { ref, release } from '../runs/run-fixture.js'
import { pinnedPush as push } from './delivery-fixture.js'
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
          { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
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
      rejectedPayloadMs: 7 * DAY,
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

  it('empties the payloads of rejected deliveries sooner, keeping their record and reason', async () => {
    const rejected = (ageDays: number, i: number) => ({
      id: newId(now.getTime() - ageDays * DAY + i),
      source: 'github',
      deliveryId: `rejected:${ageDays}:${i}`,
      receivedAt: new Date(now.getTime() - ageDays * DAY + i).toISOString(),
      outcome: 'rejected' as const,
      reason: '422 Not a push payload: expected a GitHub package event',
      contentType: 'application/json',
      payload: '{"not":"a push"}',
      pushes: [],
      runIds: [],
      duplicates: 0,
      lastDuplicateAt: null,
    })
    for (let i = 0; i < 12; i++) await store.recordEvent(rejected(10, i), [], [])
    await store.recordEvent(rejected(2, 0), [], [])
    const retention = startRetention({
      store,
      maxAgeMs: null,
      rejectedPayloadMs: 7 * DAY,
      logger: pino({ level: 'silent' }),
      now: () => now,
      batch: 5,
      intervalMs: 3_600_000,
    })
    try {
      await retention.pruneNow()
      const events = (await store.listEvents({}, null, 100)).items
      expect(events).toHaveLength(13)
      expect(events.filter((e) => e.payload === '')).toHaveLength(12)
      expect(events.every((e) => e.reason?.startsWith('422'))).toBe(true)
      expect(events[0]?.payload).toBe('{"not":"a push"}')
    } finally {
      retention.stop()
    }
  })
})
