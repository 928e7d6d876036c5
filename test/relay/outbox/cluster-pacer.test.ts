import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClusterPacer, pacingKey } from '../../../src/relay/outbox/cluster-pacer.js'
import type { Store } from '../../../src/relay/store/store.js'
import { storeFactories } from '../store/store-factories.js'

describe.each(storeFactories)('the cluster pacer on the $name store', (factory) => {
  let store: Store
  let other: Store
  const disposers: (() => Promise<void>)[] = []
  beforeEach(async () => {
    const created = await factory.create()
    store = created.store
    disposers.push(created.dispose)
    other = store
  })
  afterEach(async () => {
    for (const dispose of disposers.splice(0)) await dispose()
  })

  function recording(target: Store, slots: number[]): Pick<Store, 'reserveSlot'> {
    return {
      async reserveSlot(key, intervalMs, now) {
        const slot = await target.reserveSlot(key, intervalMs, now)
        slots.push(slot)
        return slot
      },
    }
  }

  it('hands out slots at least 60000/writes_per_minute apart across two relays', async () => {
    const slots: number[] = []
    const waits: number[] = []
    const t0 = 1_800_000_000_000
    const clock = { now: () => t0, sleep: async (ms: number) => void waits.push(ms) }
    const key = pacingKey({ kind: 'token', token: 'ghp_x' }, 'https://api.github.com')
    const a = createClusterPacer(recording(store, slots), key, 600, clock)
    const b = createClusterPacer(recording(other, slots), key, 600, clock)
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquire()))
    const sorted = [...slots].sort((x, y) => x - y)
    expect(sorted[0]).toBe(t0)
    for (let i = 1; i < sorted.length; i++)
      expect((sorted[i] ?? 0) - (sorted[i - 1] ?? 0)).toBeGreaterThanOrEqual(100)
    expect([...waits].sort((x, y) => x - y)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900])
  })

  it('starts from now once the last slot is in the past, and keeps keys apart', async () => {
    expect(await store.reserveSlot('k1', 1000, 5000)).toBe(5000)
    expect(await store.reserveSlot('k1', 1000, 5000)).toBe(6000)
    expect(await store.reserveSlot('k2', 1000, 5000)).toBe(5000)
    expect(await store.reserveSlot('k1', 1000, 60_000)).toBe(60_000)
  })

  it('makes no database call when unpaced', async () => {
    const slots: number[] = []
    await createClusterPacer(recording(store, slots), 'k', 0).acquire()
    expect(slots).toEqual([])
  })
})

describe('pacingKey', () => {
  it('names the credentials without holding them', () => {
    const key = pacingKey({ kind: 'token', token: 'ghp_secret' }, 'https://api.github.com')
    expect(key).not.toContain('ghp_secret')
    expect(key).toBe(pacingKey({ kind: 'token', token: 'ghp_secret' }, 'https://api.github.com'))
    expect(key).not.toBe(pacingKey({ kind: 'token', token: 'ghp_other' }, 'https://api.github.com'))
    expect(
      pacingKey({ kind: 'app', appId: '1', privateKey: 'k', installationId: 2 }, 'x'),
    ).not.toBe(pacingKey({ kind: 'app', appId: '1', privateKey: 'k', installationId: 3 }, 'x'))
  })
})
