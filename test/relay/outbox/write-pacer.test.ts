import { describe, expect, it } from 'vitest'
import { createLocalPacer, type PacerClock } from '../../../src/relay/outbox/write-pacer.js'

/** A clock that moves only when told; sleepers wake when their time comes. */
function manualClock() {
  let now = 0
  const sleepers: { until: number; wake: () => void }[] = []
  const clock: PacerClock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
  }
  return {
    clock,
    sleeping: () => sleepers.length,
    async advance(ms: number) {
      now += ms
      for (const sleeper of sleepers.filter((s) => s.until <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1)
        sleeper.wake()
      }
      await new Promise((resolve) => setImmediate(resolve))
    },
  }
}

function track(pacer: ReturnType<typeof createLocalPacer>, count: number) {
  const granted: number[] = []
  for (let i = 0; i < count; i++) void pacer.acquire().then(() => granted.push(i))
  return granted
}

describe('createLocalPacer', () => {
  it('spaces writes evenly, first come first served', async () => {
    const time = manualClock()
    const granted = track(createLocalPacer(60, time.clock), 3)

    await time.advance(0)
    expect(granted).toEqual([0])
    await time.advance(999)
    expect(granted).toEqual([0])
    await time.advance(1)
    expect(granted).toEqual([0, 1])
    await time.advance(1000)
    expect(granted).toEqual([0, 1, 2])
  })

  it('sleeps once per waiting write rather than polling', async () => {
    const time = manualClock()
    track(createLocalPacer(80, time.clock), 5)

    await time.advance(0)
    expect(time.sleeping()).toBe(4)
  })

  it('lets a write through at once after a quiet spell', async () => {
    const time = manualClock()
    const pacer = createLocalPacer(60, time.clock)
    await pacer.acquire()
    await time.advance(5000)

    const granted = track(pacer, 1)
    await time.advance(0)

    expect(granted).toEqual([0])
  })

  it('does not pace at 0 writes per minute', async () => {
    const time = manualClock()
    const granted = track(createLocalPacer(0, time.clock), 50)

    await time.advance(0)

    expect(granted).toHaveLength(50)
    expect(time.sleeping()).toBe(0)
  })

  it('refuses a negative rate', () => {
    expect(() => createLocalPacer(-1)).toThrow(/0 \(unpaced\) or a positive number/)
  })

  it('paces with the real clock too', async () => {
    const pacer = createLocalPacer(60_000 / 20)
    const started = performance.now()

    await Promise.all([pacer.acquire(), pacer.acquire(), pacer.acquire()])

    expect(performance.now() - started).toBeGreaterThanOrEqual(35)
  })
})
