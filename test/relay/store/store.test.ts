import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../../src/relay/model/run.js'
import { startRuns } from '../../../src/relay/runs/effects.js'
import { advance } from '../../../src/relay/runs/engine.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { newRuns } from '../../../src/relay/runs/match.js'
import type { Store } from '../../../src/relay/store/store.js'
import { push, ref, release } from '../runs/run-fixture.js'
import { delivery, t0 } from './delivery-fixture.js'
import { storeFactories } from './store-factories.js'

describe.each(storeFactories)('the $name store', (factory) => {
  let store: Store
  let dispose: () => Promise<void>
  beforeEach(async () => {
    ;({ store, dispose } = await factory.create())
  })
  afterEach(async () => dispose())

  it('stores an event with its runs and their first jobs', async () => {
    const intake = delivery('d1')
    const result = await store.recordEvent(intake.event, intake.runs, intake.jobs)
    expect(result.duplicate).toBe(false)
    expect(await store.getEvent(intake.event.id)).toEqual(intake.event)
    const run = await store.getRun(intake.runs[0]?.id ?? '')
    expect(run).toEqual(intake.runs[0])
    expect(await store.outboxDepth()).toBe(1)
  })

  it('stores a repeated delivery once and answers with the first', async () => {
    const first = delivery('same')
    await store.recordEvent(first.event, first.runs, first.jobs)
    const again = delivery('same')
    const result = await store.recordEvent(again.event, again.runs, again.jobs)
    expect(result).toEqual({ duplicate: true, event: first.event })
    expect((await store.listRuns({}, null, 10)).items).toHaveLength(1)
    expect(await store.outboxDepth()).toBe(1)
  })

  it('lists runs newest first with filters and a cursor', async () => {
    const everyRepository = [{ ...release, match: { repository: 'acme/*', tags: null } }]
    for (let i = 0; i < 4; i++) {
      const repository = i % 2 ? 'acme/app' : 'acme/other'
      const intake = takeIn(
        {
          source: 'dockerhub',
          normalised: { deliveryId: `e${i}`, pushes: [{ ...push, repository }], ignored: null },
          contentType: null,
          payload: '{}',
          receivedAt: new Date(t0.getTime() + i * 1000),
        },
        everyRepository,
      )
      await store.recordEvent(intake.event, intake.runs, intake.jobs)
    }
    const page1 = await store.listRuns({}, null, 3)
    expect(page1.items).toHaveLength(3)
    expect(page1.nextCursor).toBe(page1.items[2]?.id)
    const page2 = await store.listRuns({}, page1.nextCursor, 3)
    expect(page2.items).toHaveLength(1)
    expect(page2.nextCursor).toBeNull()
    const ids = [...page1.items, ...page2.items].map((r) => r.id)
    expect(ids).toEqual([...ids].sort().reverse())
    expect(page1.items[0]?.createdAt).toBe(new Date(t0.getTime() + 3000).toISOString())
    expect((await store.listRuns({ repository: 'acme/other' }, null, 10)).items).toHaveLength(2)
    expect((await store.listRuns({ chain: 'nope' }, null, 10)).items).toHaveLength(0)
    expect((await store.listRuns({ state: 'running' }, null, 10)).items).toHaveLength(4)
    expect((await store.listRuns({ state: 'success' }, null, 10)).items).toHaveLength(0)
  })

  it('saves a transition only over the version it was computed from', async () => {
    const intake = delivery('v')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const run = intake.runs[0] as Run
    const t = advance(run, { type: 'delivered', ref: ref(1), generation: 1 }, t0)
    if (!t.ok) throw new Error(t.message)
    const next = { ...t.run, version: run.version + 1 }
    expect(await store.saveTransition(next, [])).toBe(true)
    expect(await store.saveTransition(next, [])).toBe(false)
    expect((await store.getRun(run.id))?.steps[0]?.state).toBe('running')
  })

  it('leases each due job to one owner until the lease expires', async () => {
    const intake = delivery('lease')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const now = t0.getTime()
    const a = await store.claimJobs('a', now, 1000, 10)
    expect(a).toHaveLength(1)
    expect(await store.claimJobs('b', now + 500, 1000, 10)).toHaveLength(0)
    const b = await store.claimJobs('b', now + 1001, 1000, 10)
    expect(b.map((j) => j.id)).toEqual(a.map((j) => j.id))
    await store.finishJob(b[0]?.id ?? 0, 'a') // a lost its lease: its finish changes nothing
    expect(await store.outboxDepth()).toBe(1)
    await store.rescheduleJob(b[0]?.id ?? 0, 'b', now + 60_000, 'GitHub answered 502')
    expect(await store.claimJobs('c', now + 2000, 1000, 10)).toHaveLength(0)
    const c = await store.claimJobs('c', now + 60_000, 1000, 10)
    expect(c[0]).toMatchObject({ tries: 1, lastError: 'GitHub answered 502' })
    await store.finishJob(c[0]?.id ?? 0, 'c')
    expect(await store.outboxDepth()).toBe(0)
  })

  it('renews the leases its owner still holds, and puts back an unsent job without a try', async () => {
    const intake = delivery('renew')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const now = t0.getTime()
    const [job] = await store.claimJobs('a', now, 1000, 10)
    const id = job?.id ?? 0
    expect(await store.renewLeases('a', [id], now + 5000)).toBe(1)
    expect(await store.renewLeases('b', [id], now + 9000)).toBe(0) // not b's to renew
    expect(await store.renewLeases('a', [], now + 9000)).toBe(0)
    expect(await store.claimJobs('b', now + 2000, 1000, 10)).toHaveLength(0)
    const [taken] = await store.claimJobs('b', now + 5001, 1000, 10)
    expect(taken?.id).toBe(id)
    expect(await store.renewLeases('a', [id], now + 9000)).toBe(0) // a lost it meanwhile
    await store.rescheduleJob(id, 'b', now + 6000, 'no write slot yet', { tried: false })
    const [again] = await store.claimJobs('c', now + 6000, 1000, 10)
    expect(again).toMatchObject({ id, tries: 0, lastError: 'no write slot yet' })
  })

  it('finds steps past their deadline', async () => {
    const intake = delivery('late')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    expect(await store.overdueSteps(t0.toISOString(), 10)).toEqual([])
    const due = new Date(t0.getTime() + release.stepTimeoutMs).toISOString()
    expect(await store.overdueSteps(due, 10)).toEqual([{ runId: intake.runs[0]?.id, ref: ref(1) }])
  })

  it('keeps tokens, attempts and callbacks of a run', async () => {
    const intake = delivery('t')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const runId = intake.runs[0]?.id ?? ''
    await store.addToken('abc', { runId, ref: ref(1), generation: 1 })
    expect(await store.findToken('abc')).toEqual({ runId, ref: ref(1), generation: 1 })
    expect(await store.findToken('nope')).toBeNull()
    const attempt = {
      runId,
      runAttempt: 1,
      step: 1,
      phase: 'main' as const,
      branch: 0,
      kind: 'dispatch' as const,
      target: 'acme/integration-tests',
      request: { event_type: 'image-pushed' },
      status: 204,
      error: null,
      durationMs: 12,
      startedAt: t0.toISOString(),
    }
    await store.recordAttempts([attempt, { ...attempt, status: 500, error: 'GitHub answered 500' }])
    expect(await store.attemptsFor([runId])).toEqual([
      attempt,
      { ...attempt, status: 500, error: 'GitHub answered 500' },
    ])
    const callback = {
      runId,
      runAttempt: 1,
      step: 1,
      phase: 'main' as const,
      branch: 0,
      generation: 1,
      receivedAt: t0.toISOString(),
      body: { state: 'success' as const },
      outcome: 'step-ended',
    }
    await store.recordRefusedCallback(callback, 20)
    expect(await store.callbacksFor(runId)).toEqual([callback])
  })

  it("keeps a step's refused callbacks up to a bound, and only counts the rest", async () => {
    const { event, runs, jobs } = delivery('refused')
    await store.recordEvent(event, runs, jobs)
    const runId = runs[0]?.id ?? ''
    for (let i = 0; i < 5; i++) {
      await store.recordRefusedCallback(
        {
          runId,
          runAttempt: 1,
          step: 1,
          phase: 'main',
          branch: 0,
          generation: 1,
          receivedAt: new Date(t0.getTime() + i).toISOString(),
          body: { state: 'success', description: `try ${i}` },
          outcome: 'step-ended',
        },
        3,
      )
    }
    const kept = await store.callbacksFor(runId)
    expect(kept.map((c) => c.body.description)).toEqual(['try 0', 'try 1', 'try 2'])
    expect((await store.getRun(runId))?.steps[0]?.callbacksDropped).toBe(2)
  })

  it('counts runs by state and prunes ended runs older than the cutoff', async () => {
    const old = delivery('old')
    const recent = delivery('recent', { at: new Date(t0.getTime() + 86_400_000) })
    const ignored = takeIn(
      {
        source: 'dockerhub',
        normalised: { deliveryId: 'ignored', pushes: [], ignored: 'pull' },
        contentType: null,
        payload: '{}',
        receivedAt: t0,
      },
      [release],
    )
    for (const i of [old, recent, ignored]) await store.recordEvent(i.event, i.runs, i.jobs)
    const oldRun = old.runs[0] as Run
    await store.addToken('tok', { runId: oldRun.id, ref: ref(1), generation: 1 })
    const cutoff = new Date(t0.getTime() + 3_600_000).toISOString()
    expect(await store.prune(cutoff, cutoff, 100)).toEqual({ runs: 0, events: 1, payloads: 0 }) // the old run is still running
    const ended = advance(
      oldRun,
      { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
      t0,
    )
    if (!ended.ok) throw new Error(ended.message)
    await store.saveTransition({ ...ended.run, version: 1 }, [])
    expect(await store.countRunsByState()).toEqual({ failure: 1, running: 1 })
    expect(await store.prune(cutoff, cutoff, 100)).toEqual({ runs: 1, events: 1, payloads: 0 })
    expect(await store.getRun(oldRun.id)).toBeNull()
    expect(await store.findToken('tok')).toBeNull()
    expect(await store.getEvent(old.event.id)).toBeNull()
    expect(await store.getRun(recent.runs[0]?.id ?? '')).not.toBeNull()
    expect(await store.countRunsByState()).toEqual({ running: 1 })
  })

  it('adds runs to a stored event when it is delivered again', async () => {
    const first = delivery('again')
    await store.recordEvent(first.event, first.runs, first.jobs)
    const second = startRuns(
      newRuns(first.event.id, push, [release], new Date(t0.getTime() + 1000)),
      t0,
    )
    await store.addRuns(first.event.id, second.runs, second.jobs)
    const event = await store.getEvent(first.event.id)
    expect(event?.runIds).toEqual([...first.event.runIds, ...second.runs.map((r) => r.id)])
    expect((await store.getRun(second.runs[0]?.id ?? ''))?.eventId).toBe(first.event.id)
    expect(await store.outboxDepth()).toBe(2)
  })

  it('applies migrations once, however often it starts', async () => {
    await store.migrate()
    await store.migrate()
    await store.ping()
  })
})
