import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type JobHandler, OutboxRunner } from '../../../src/relay/outbox/runner.js'
import type { Job, Store } from '../../../src/relay/store/store.js'
import { eventually } from '../relay-harness.js'
import { delivery } from '../store/delivery-fixture.js'
import { sqliteFactory } from '../store/store-factories.js'

let store: Store
let dispose: () => Promise<void>
const runners: OutboxRunner[] = []

beforeEach(async () => {
  ;({ store, dispose } = await sqliteFactory.create())
})
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()))
  await dispose()
})

const logger = pino({ level: 'silent' })

/** `count` runs, each with its first `send` job due now, in the real store. */
async function jobs(count: number, prefix = 'job'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { event, runs, jobs } = delivery(`${prefix}-${i}`)
    await store.recordEvent(
      event,
      runs,
      jobs.map((job) => ({ ...job, dueAt: Date.now() - 1 })),
    )
  }
}

function runner(
  handlers: Record<string, JobHandler>,
  options: { owner?: string; leaseMs?: number; pollMs?: number; concurrency?: number } = {},
): OutboxRunner {
  const started = new OutboxRunner({
    queue: store,
    handlers,
    logger,
    owner: options.owner ?? 'relay-a',
    leaseMs: options.leaseMs ?? 30_000,
    pollMs: options.pollMs ?? 20,
    concurrency: options.concurrency,
  })
  runners.push(started)
  started.start()
  return started
}

/** A handler that holds each job until released, and says which it holds. */
function holding() {
  const held: { job: Job; release: () => void }[] = []
  const handler: JobHandler = (job) =>
    new Promise((resolve) => held.push({ job, release: () => resolve({ kind: 'done' }) }))
  return { held, handler }
}

describe('the outbox runner', () => {
  it('hands each due job to the handler of its kind, and removes the job once done', async () => {
    await jobs(3)
    const seen: Job[] = []
    runner({
      send: async (job) => {
        seen.push(job)
        return { kind: 'done' }
      },
    })
    await eventually(async () => ((await store.outboxDepth()) === 0 ? true : undefined))
    expect(seen.map((job) => job.kind)).toEqual(['send', 'send', 'send'])
  })

  it('keeps no more jobs in flight than its concurrency bound', async () => {
    await jobs(5)
    const { held, handler } = holding()
    runner({ send: handler }, { concurrency: 2 })
    await eventually(() => (held.length === 2 ? true : undefined))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(held).toHaveLength(2)
    held[0]?.release()
    await eventually(() => (held.length === 3 ? true : undefined))
    for (const { release } of held) release()
  })

  it('puts a job back until the time its handler names, counting a try unless told not to', async () => {
    await jobs(1)
    const tries: number[] = []
    runner({
      send: async (job) => {
        tries.push(job.tries)
        if (tries.length === 1) return { kind: 'later', at: Date.now() + 150, error: 'busy' }
        if (tries.length === 2)
          return { kind: 'later', at: Date.now(), error: 'no slot', tried: false }
        return { kind: 'done' }
      },
    })
    const started = Date.now()
    await eventually(() => (tries.length === 3 ? true : undefined))
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(tries).toEqual([0, 1, 1])
  })

  it('wakes at once when told new work was committed, without waiting for its next poll', async () => {
    const seen: number[] = []
    const idle = runner(
      {
        send: async () => {
          seen.push(Date.now())
          return { kind: 'done' }
        },
      },
      { pollMs: 60_000 },
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    await jobs(1)
    const committed = Date.now()
    idle.kick()
    await eventually(() => (seen.length === 1 ? true : undefined), 2000)
    expect((seen[0] ?? Infinity) - committed).toBeLessThan(1000)
  })

  it('takes over a job whose lease ran out, as when the relay holding it died', async () => {
    await jobs(1)
    const [claimed] = await store.claimJobs('relay-that-died', Date.now(), 200, 10)
    const taken: Job[] = []
    const claimedAt = Date.now()
    runner({
      send: async (job) => {
        taken.push(job)
        return { kind: 'done' }
      },
    })
    await eventually(() => (taken.length === 1 ? true : undefined), 3000)
    expect(taken[0]?.id).toBe(claimed?.id)
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(190)
  })

  it('renews the leases of the jobs in flight, so that no other relay takes a slow one', async () => {
    await jobs(1)
    const { held, handler } = holding()
    runner({ send: handler }, { owner: 'relay-a', leaseMs: 200 })
    await eventually(() => (held.length === 1 ? true : undefined))
    const other: Job[] = []
    runner(
      {
        send: async (job) => {
          other.push(job)
          return { kind: 'done' }
        },
      },
      { owner: 'relay-b', leaseMs: 200 },
    )
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(other).toEqual([])
    held[0]?.release()
    await eventually(async () => ((await store.outboxDepth()) === 0 ? true : undefined))
  })

  it('leaves a job of a kind it has no handler for to a relay that has one', async () => {
    await jobs(1)
    runner({})
    await new Promise((resolve) => setTimeout(resolve, 100))
    const [job] = await store.claimJobs('inspector', Date.now() + 60_000, 1000, 10)
    expect(job?.lastError).toBe('no handler for send jobs')
    expect(job?.tries).toBe(0)
  })

  it('leaves a job whose handler threw leased, to come back when its lease ends', async () => {
    await jobs(1)
    let calls = 0
    runner(
      {
        send: async () => {
          calls++
          if (calls === 1) throw new Error('database went away')
          return { kind: 'done' }
        },
      },
      { leaseMs: 150 },
    )
    await eventually(async () => ((await store.outboxDepth()) === 0 ? true : undefined), 3000)
    expect(calls).toBe(2)
  })
})
