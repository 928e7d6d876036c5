import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Deliverer } from '../../../src/relay/deliverers/deliverer.js'
import { IN_FLIGHT } from '../../../src/relay/model/attempt.js'
import type { Step } from '../../../src/relay/model/run.js'
import { NoWriteSlotError } from '../../../src/relay/outbox/cluster-pacer.js'
import { sendStepHandler } from '../../../src/relay/outbox/send-step.js'
import type { WritePacer } from '../../../src/relay/outbox/write-pacer.js'
import type { Job, Store } from '../../../src/relay/store/store.js'
import { delivery } from '../store/delivery-fixture.js'
import { sqliteFactory } from '../store/store-factories.js'

let store: Store
let dispose: () => Promise<void>

beforeEach(async () => {
  ;({ store, dispose } = await sqliteFactory.create())
})
afterEach(() => dispose())

/** What the handler did, in order: pacer slots, sends, and the run service's calls. */
let log: string[]

function handler(pacer: WritePacer, outcome: Awaited<ReturnType<Deliverer['send']>>) {
  const deliverer: Deliverer = {
    async send(step: Step, context) {
      log.push(`send ${step.index} ${context.callbackUrl.replace(/[^/]+$/, '<token>')}`)
      return outcome
    },
    registry: async () => ({ kind: 'delivered', attempts: [] }),
    commitStatus: async () => ({ kind: 'delivered', attempts: [] }),
  }
  return sendStepHandler({
    store,
    runs: {
      delivered: async (_run, _ref, step) => void log.push(`delivered ${step.index}`),
      deliveryFailed: async (_run, _ref, step, error) =>
        void log.push(`failed ${step.index}: ${error}`),
    },
    deliverer,
    pacer,
    publicUrl: 'https://relay.example.com',
    retryDelay: () => 1000,
    secrets: ['configured-secret-0123456789'],
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
  })
}

const counting: WritePacer = { acquire: async () => void log.push('slot') }

async function firstJob(): Promise<Job> {
  const { event, runs, jobs } = delivery('d1')
  await store.recordEvent(event, runs, jobs)
  const [job] = await store.claimJobs('relay', Date.now() + 1000, 30_000, 1)
  if (!job) throw new Error('no job')
  return job
}

describe('the send-step handler', () => {
  beforeEach(() => {
    log = []
  })

  it('takes a write slot before it issues the callback URL and sends the dispatch', async () => {
    const job = await firstJob()
    const result = await handler(counting, { kind: 'delivered', attempts: [] })(job)
    expect(result).toEqual({ kind: 'done' })
    expect(log).toEqual([
      'slot',
      'send 1 https://relay.example.com/callbacks/<token>',
      'delivered 1',
    ])
    const attempts = await store.attemptsFor([job.runId])
    expect(attempts.map((a) => a.error)).not.toContain(IN_FLIGHT)
  })

  it('postpones a dispatch the pacer has no slot for, issuing no token and sending nothing', async () => {
    const job = await firstJob()
    const full: WritePacer = {
      acquire: () => Promise.reject(new NoWriteSlotError(4200, 80, 10_000)),
    }
    const before = Date.now()
    const result = await handler(full, { kind: 'delivered', attempts: [] })(job)
    expect(result).toMatchObject({ kind: 'later', tried: false })
    expect(result.kind === 'later' && result.at - before).toBeGreaterThanOrEqual(4200)
    expect(result.kind === 'later' && result.error).toMatch(/next free slot is 4\.2 s away/)
    expect(log).toEqual([])
    expect(await store.attemptsFor([job.runId])).toEqual([])
  })

  it('tries a step again later after a retryable failure, no sooner than Retry-After', async () => {
    const job = await firstJob()
    const before = Date.now()
    const result = await handler(counting, {
      kind: 'retry',
      attempts: [],
      error: 'GitHub answered 502',
      retryAfterMs: 5000,
    })(job)
    expect(result).toMatchObject({ kind: 'later', error: 'GitHub answered 502' })
    expect(result.kind === 'later' && result.at - before).toBeGreaterThanOrEqual(5000)
    expect(log).not.toContain('delivered 1')
  })

  it('ends the step when the delivery failed for good', async () => {
    const job = await firstJob()
    const result = await handler(counting, { kind: 'failed', attempts: [], error: 'no such repo' })(
      job,
    )
    expect(result).toEqual({ kind: 'done' })
    expect(log.at(-1)).toBe('failed 1: no such repo')
  })

  it('drops a job for a step that was restarted or ended since', async () => {
    const job = await firstJob()
    const result = await handler(counting, { kind: 'delivered', attempts: [] })({
      ...job,
      generation: 2,
    })
    expect(result).toEqual({ kind: 'done' })
    expect(log).toEqual([])
  })
})
