import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../../src/relay/model/run.js'
import { startRuns } from '../../../src/relay/runs/effects.js'
import { advance } from '../../../src/relay/runs/engine.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { newRuns } from '../../../src/relay/runs/match.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import type { EventFilter, RunFilter, Store } from '../../../src/relay/store/store.js'
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
    const later = new Date(t0.getTime() + 60_000)
    const result = await store.recordEvent(
      { ...again.event, receivedAt: later.toISOString() },
      again.runs,
      again.jobs,
    )
    const counted = { ...first.event, duplicates: 1, lastDuplicateAt: later.toISOString() }
    expect(result).toEqual({ duplicate: true, event: counted })
    expect(await store.getEvent(first.event.id)).toEqual(counted)
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

  it('finds runs the way people type: globs, parts, references, tags, digests, pushers and times', async () => {
    const everyRepository = [{ ...release, match: { repository: '**', tags: null } }]
    const pushes: Partial<PushEvent>[] = [
      { repository: 'acme/app', tag: 'v1.2.0', digest: `sha256:4b4f${'0'.repeat(60)}` },
      { repository: 'acme/worker', tag: 'v1.3.0-rc1', pusher: 'Alice' },
      { repository: 'team/worker-api', registry: 'ghcr.io', tag: 'latest', digest: 'sha256:abcd' },
      { repository: '100%_sure', tag: 'x' },
    ]
    const ids: string[] = []
    for (const [i, overrides] of pushes.entries()) {
      const intake = takeIn(
        {
          source: 'dockerhub',
          normalised: {
            deliveryId: `s${i}`,
            pushes: [{ ...push, pusher: null, ...overrides }],
            ignored: null,
          },
          contentType: null,
          payload: '{}',
          receivedAt: new Date(t0.getTime() + i * 3_600_000),
        },
        everyRepository,
      )
      await store.recordEvent(intake.event, intake.runs, intake.jobs)
      ids.push(intake.runs[0]?.id ?? '')
    }
    const [app, worker, api, odd] = ids
    const found = async (filter: RunFilter) =>
      (await store.listRuns(filter, null, 10)).items.map((r) => r.id).reverse()
    expect(await found({ repository: 'acme/*' })).toEqual([app, worker])
    expect(await found({ repository: 'worker' })).toEqual([worker, api])
    expect(await found({ repository: 'WORKER' })).toEqual([worker, api])
    expect(await found({ repository: 'docker.io/acme/app' })).toEqual([app])
    expect(await found({ repository: 'docker.io/acme/app:v1.2.0' })).toEqual([app])
    expect(await found({ repository: 'ghcr.io/*' })).toEqual([api])
    expect(await found({ repository: '*/worker*' })).toEqual([worker, api])
    expect(await found({ repository: '100%' })).toEqual([odd])
    expect(await found({ repository: '10_%' })).toEqual([])
    expect(await found({ chain: 'leas' })).toHaveLength(4)
    expect(await found({ chain: 'nightly' })).toEqual([])
    expect(await found({ tag: 'v1.2.0' })).toEqual([app])
    expect(await found({ tag: 'v1' })).toEqual([])
    expect(await found({ tag: 'v1.*' })).toEqual([app, worker])
    expect(await found({ tag: '*-rc?' })).toEqual([worker])
    expect(await found({ digest: 'sha256:4b4f' })).toEqual([app])
    expect(await found({ digest: 'abc' })).toEqual([api])
    expect(await found({ digest: '4b4f0000' })).toEqual([app])
    expect(await found({ pusher: 'ali' })).toEqual([worker])
    const hour = (n: number) => new Date(t0.getTime() + n * 3_600_000).toISOString()
    expect(await found({ since: hour(1) })).toEqual([worker, api, odd])
    expect(await found({ until: hour(1) })).toEqual([app])
    expect(await found({ since: hour(1), until: hour(3) })).toEqual([worker, api])
    expect(await found({ words: ['worker'] })).toEqual([worker, api])
    expect(await found({ words: ['worker', 'latest'] })).toEqual([api])
    expect(await found({ words: ['alice'] })).toEqual([worker])
    expect(await found({ words: ['sha256:abcd'] })).toEqual([api])
    expect(await found({ repository: 'worker', tag: 'latest', state: 'running' })).toEqual([api])

    expect((await store.latestRuns(['release', 'nope'])).map((r) => r.id)).toEqual([odd])
  })

  it('finds events by the repository and tag of one of their pushes', async () => {
    const stored = async (deliveryId: string, pushes: PushEvent[], minutes: number) => {
      const intake = delivery(deliveryId, {
        pushes,
        at: new Date(t0.getTime() + minutes * 60_000),
      })
      await store.recordEvent(intake.event, intake.runs, intake.jobs)
      return intake.event.id
    }
    const both = await stored(
      'both',
      [
        { ...push, repository: 'acme/app', tag: 'v1' },
        { ...push, repository: 'acme/web', tag: 'v2' },
      ],
      0,
    )
    const web = await stored('web', [{ ...push, repository: 'acme/web', tag: 'v1' }], 1)
    const none = await stored('none', [], 2)
    const found = async (filter: EventFilter) =>
      (await store.listEvents(filter, null, 10)).items.map((e) => e.id).reverse()
    expect(await found({})).toEqual([both, web, none])
    expect(await found({ repository: 'acme/web' })).toEqual([both, web])
    expect(await found({ repository: 'acme/*', tag: 'v2' })).toEqual([both])
    // Repository and tag must hold of one push: acme/app is pushed as v1 only.
    expect(await found({ repository: 'acme/app', tag: 'v2' })).toEqual([])
    expect(await found({ repository: 'docker.io/acme/web:v1' })).toEqual([web])
    expect(await found({ tag: 'v*', source: 'dockerhub' })).toEqual([both, web])
    expect(await found({ tag: 'v*', outcome: 'unmatched' })).toEqual([web])
    const minute = (n: number) => new Date(t0.getTime() + n * 60_000).toISOString()
    expect(await found({ since: minute(1) })).toEqual([web, none])
    expect(await found({ until: minute(1) })).toEqual([both])
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
    await store.addRunToken('run-tok', oldRun.id, t0.toISOString())
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
    expect(await store.findRunToken('run-tok')).toBeNull()
    expect(await store.getEvent(old.event.id)).toBeNull()
    expect(await store.getRun(recent.runs[0]?.id ?? '')).not.toBeNull()
    expect(await store.countRunsByState()).toEqual({ running: 1 })
  })

  it('prunes a retried run with its earlier attempts', async () => {
    const intake = delivery('retried')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const failed = advance(
      intake.runs[0] as Run,
      { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
      t0,
    )
    if (!failed.ok) throw new Error(failed.message)
    await store.saveTransition({ ...failed.run, version: 1 }, [])
    const retried = advance({ ...failed.run, version: 1 }, { type: 'retry' }, t0)
    if (!retried.ok) throw new Error(retried.message)
    await store.saveTransition({ ...retried.run, version: 2 }, [], undefined, {
      attempt: 1,
      state: 'failure',
      startedAt: t0.toISOString(),
      finishedAt: t0.toISOString(),
      steps: failed.run.steps,
      onFailure: [],
    })
    const again = advance(
      { ...retried.run, version: 2 },
      { type: 'callback', ref: ref(1), generation: 2, callback: { state: 'failure' } },
      t0,
    )
    if (!again.ok) throw new Error(again.message)
    await store.saveTransition({ ...again.run, version: 3 }, [])
    const cutoff = new Date(t0.getTime() + 3_600_000).toISOString()
    expect(await store.prune(cutoff, cutoff, 100)).toMatchObject({ runs: 1 })
    expect(await store.earlierAttempts(intake.runs[0]?.id ?? '')).toEqual([])
  })

  it('keeps run tokens by their hash, and the versions of runs for long polls', async () => {
    const intake = delivery('tokens')
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    const run = intake.runs[0] as Run
    await store.addRunToken('hash-1', run.id, t0.toISOString())
    await store.addRunToken('hash-2', run.id, t0.toISOString())
    expect(await store.findRunToken('hash-1')).toBe(run.id)
    expect(await store.findRunToken('hash-2')).toBe(run.id)
    expect(await store.findRunToken('hash-3')).toBeNull()
    expect(await store.runVersions([run.id, '0193b0c0-0000-7000-8000-000000000000'])).toEqual([
      { id: run.id, version: 0 },
    ])
    expect(await store.runVersions([])).toEqual([])
  })

  it('saves the pinned image, the source commit and the notes of a transition', async () => {
    const unpinned = takeIn(
      {
        source: 'dockerhub',
        normalised: { deliveryId: 'unpinned', pushes: [push], ignored: null },
        contentType: null,
        payload: '{}',
        receivedAt: t0,
      },
      [{ ...release, reportToCommit: { context: 'ci/{step}' } }],
    )
    await store.recordEvent(unpinned.event, unpinned.runs, unpinned.jobs)
    expect(unpinned.jobs.map((j) => j.kind)).toEqual(['prepare'])
    const run = unpinned.runs[0] as Run
    const digest = `sha256:${'ab'.repeat(32)}`
    const sourceCommit = {
      repository: 'acme/app',
      sha: 'a'.repeat(40),
      from: 'oci-labels' as const,
    }
    const prepared = advance(
      run,
      {
        type: 'prepared',
        image: { ...run.image, digest },
        sourceCommit,
        notes: [{ at: t0.toISOString(), text: 'read' }],
      },
      t0,
    )
    if (!prepared.ok) throw new Error(prepared.message)
    expect(await store.saveTransition({ ...prepared.run, version: 1 }, [])).toBe(true)
    const saved = await store.getRun(run.id)
    expect(saved).toMatchObject({
      version: 1,
      image: { digest, tag: 'v1.2.0' },
      sourceCommit,
      notes: [{ at: t0.toISOString(), text: 'read' }],
    })
    expect(saved?.steps[0]?.state).toBe('dispatching')
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
