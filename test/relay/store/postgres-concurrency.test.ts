import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../../src/relay/model/run.js'
import { advance } from '../../../src/relay/runs/engine.js'
import { postgresMigrations } from '../../../src/relay/store/postgres-migrations.js'
import { PostgresStore } from '../../../src/relay/store/postgres-store.js'
import type { Job, NewJob } from '../../../src/relay/store/store.js'
import { ref } from '../runs/run-fixture.js'
import { delivery, t0 } from './delivery-fixture.js'
import {
  adminQuery,
  dropSchema,
  lockRow,
  lockWaiters,
  newSchemaName,
  schemaUrl,
} from './postgres-factory.js'

const now = t0.getTime()

/** Two relays on one database: two stores, each with its own pool, on the same schema. */
describe('two PostgreSQL stores on one schema', () => {
  let schema: string
  let applicationName: string
  let a: PostgresStore
  let b: PostgresStore
  beforeEach(() => {
    schema = newSchemaName()
    applicationName = `hookchain-${schema}`
    const url = schemaUrl(schema, { application_name: applicationName })
    a = new PostgresStore(url)
    b = new PostgresStore(url)
  })
  afterEach(async () => {
    await Promise.all([a.close(), b.close()])
    await dropSchema(schema)
  })

  /** A stored run (one event) and `jobs` of its own instead of its first one. */
  async function runWithJobs(deliveryId: string, jobs: (run: Run) => NewJob[] = () => []) {
    const intake = delivery(deliveryId)
    const run = intake.runs[0] as Run
    await a.recordEvent(intake.event, intake.runs, jobs(run))
    return run
  }

  it('migrates once when both start at the same moment on an empty database', async () => {
    await Promise.all([a.ping(), b.ping()]) // connected, so the migrations start together
    await Promise.all([a.migrate(), b.migrate(), a.migrate(), b.migrate()])
    const applied = await adminQuery<{ version: number }>(
      `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
    )
    expect(applied.map((m) => m.version)).toEqual(postgresMigrations.map((m) => m.version))
    const tables = await adminQuery<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    )
    expect(tables.map((t) => t.table_name)).toEqual([
      'attempts',
      'callbacks',
      'events',
      'outbox',
      'run_attempts',
      'run_tokens',
      'runs',
      'schema_migrations',
      'steps',
      'tokens',
      'write_slots',
    ])
    expect([await a.outboxDepth(), await b.outboxDepth()]).toEqual([0, 0])
  })

  it('stores a delivery both relays receive at once once, and answers both with it', async () => {
    await a.migrate()
    const both = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const [first, second] = [delivery(`twice-${i}`), delivery(`twice-${i}`)]
        const [viaA, viaB] = await Promise.all([
          a.recordEvent(first.event, first.runs, first.jobs),
          b.recordEvent(second.event, second.runs, second.jobs),
        ])
        return { viaA, viaB, first, second }
      }),
    )
    for (const { viaA, viaB, first, second } of both) {
      expect([viaA.duplicate, viaB.duplicate].sort()).toEqual([false, true])
      const [kept, repeat] = viaA.duplicate ? [second, first] : [first, second]
      const counted = { ...kept.event, duplicates: 1, lastDuplicateAt: repeat.event.receivedAt }
      // The first answer is the event as stored; the second, with the repeat counted.
      expect(viaA.duplicate ? [viaB.event, viaA.event] : [viaA.event, viaB.event]).toEqual([
        kept.event,
        counted,
      ])
    }
    expect((await a.listRuns({}, null, 100)).items).toHaveLength(10)
    expect(await b.outboxDepth()).toBe(10)
  })

  it('hands each due job to exactly one of several owners claiming at once', async () => {
    await a.migrate()
    await runWithJobs('many', (run) =>
      Array.from({ length: 50 }, (_, i) => ({
        kind: 'send' as const,
        runId: run.id,
        ref: ref(1),
        generation: 1,
        args: null,
        dueAt: now - 50 + i,
      })),
    )
    const owners = [
      { owner: 'a1', store: a },
      { owner: 'a2', store: a },
      { owner: 'b1', store: b },
      { owner: 'b2', store: b },
    ]
    const claimed = await Promise.all(
      owners.map(async ({ owner, store }) => {
        const mine: Job[] = []
        for (;;) {
          const jobs = await store.claimJobs(owner, now, 60_000, 3)
          if (jobs.length === 0) return { owner, jobs: mine }
          mine.push(...jobs)
        }
      }),
    )
    const ids = claimed.flatMap((c) => c.jobs.map((j) => j.id))
    expect(ids).toHaveLength(50)
    expect(new Set(ids).size).toBe(50)
    const leases = await adminQuery<{ id: string; lease_owner: string }>(
      `SELECT id, lease_owner FROM "${schema}".outbox`,
    )
    const ownerOf = new Map(leases.map((l) => [Number(l.id), l.lease_owner]))
    for (const { owner, jobs } of claimed) {
      for (const job of jobs) expect(ownerOf.get(job.id)).toBe(owner)
    }
    expect(await b.claimJobs('late', now, 60_000, 100)).toEqual([])
  })

  it('lets another owner take over a lease that expired, and only one of them', async () => {
    await a.migrate()
    await runWithJobs('lease', (run) => [
      { kind: 'send', runId: run.id, ref: ref(1), generation: 1, args: null, dueAt: now },
    ])
    const [job] = await a.claimJobs('a', now, 1000, 10)
    expect(job).toBeDefined()
    expect(await b.claimJobs('b', now + 999, 1000, 10)).toEqual([])
    const takers = await Promise.all([
      b.claimJobs('b', now + 1001, 1000, 10),
      a.claimJobs('c', now + 1001, 1000, 10),
    ])
    expect(takers.flat().map((j) => j.id)).toEqual([job?.id])
    const winner = takers[0].length ? 'b' : 'c'
    await a.finishJob(job?.id ?? 0, 'a') // a's lease is gone: finishing changes nothing
    await a.rescheduleJob(job?.id ?? 0, 'a', now + 60_000, 'too late')
    expect(await b.outboxDepth()).toBe(1)
    await b.finishJob(job?.id ?? 0, winner)
    expect(await a.outboxDepth()).toBe(0)
  })

  it('saves exactly one of two transitions computed from the same version', async () => {
    await a.migrate()
    const run = await runWithJobs('race')
    const delivered = advance(run, { type: 'delivered', ref: ref(1), generation: 1 }, t0)
    const failed = advance(
      run,
      { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
      t0,
    )
    if (!delivered.ok || !failed.ok) throw new Error('the engine refused a transition')
    const viaA = { ...delivered.run, version: run.version + 1 }
    const viaB = { ...failed.run, version: run.version + 1 }
    const callback = {
      runId: run.id,
      runAttempt: 1,
      step: 1,
      phase: 'main' as const,
      branch: 0,
      generation: 1,
      receivedAt: t0.toISOString(),
      body: { state: 'failure' as const },
      outcome: 'accepted',
    }
    const job: NewJob = {
      kind: 'notify-registry',
      runId: run.id,
      ref: null,
      generation: null,
      args: null,
      dueAt: now,
    }

    // Both UPDATEs wait on the same row, then run one after the other on the version they re-read.
    const gate = await lockRow(schema, 'runs', run.id)
    const saves = Promise.all([a.saveTransition(viaA, []), b.saveTransition(viaB, [job], callback)])
    await lockWaiters(applicationName, 2)
    await gate.release()
    const [savedA, savedB] = await saves

    expect([savedA, savedB].filter(Boolean)).toHaveLength(1)
    const winner = savedA ? viaA : viaB
    expect(await a.getRun(run.id)).toEqual(winner)
    expect(await a.callbacksFor(run.id)).toEqual(savedB ? [callback] : [])
    expect(await a.outboxDepth()).toBe(savedB ? 1 : 0)
  })
})
