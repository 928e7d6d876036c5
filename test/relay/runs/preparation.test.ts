import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { Run } from '../../../src/relay/model/run.js'
import { needsPreparation, startRuns } from '../../../src/relay/runs/effects.js'
import { advance, startRun } from '../../../src/relay/runs/engine.js'
import { newRun, ref, release } from './run-fixture.js'

const t0 = new Date('2026-11-26T21:32:00Z')
const digest = `sha256:${'ab'.repeat(32)}`
const commit = { repository: 'acme/app', sha: 'a'.repeat(40), from: 'oci-labels' as const }
const reporting: Chain = { ...release, reportToCommit: { context: 'hookchain/{chain}/{step}' } }

function prepared(run: Run) {
  return advance(
    run,
    {
      type: 'prepared',
      image: { ...run.image, digest },
      sourceCommit: commit,
      notes: [{ at: t0.toISOString(), text: 'pinned' }],
    },
    t0,
  )
}

describe('a run whose image is read before its first step', () => {
  it.each([
    ['a tag without a digest', {}, release, true],
    ['a tag with its digest', { digest }, release, false],
    [
      'a digest alone',
      { tag: null, digest },
      { ...release, match: { ...release.match, tags: null } },
      false,
    ],
    ['a pinned image whose chain reports to an unknown commit', { digest }, reporting, true],
  ])('is prepared for %s', (_name, push, chain, expected) => {
    expect(needsPreparation(newRun(push, chain), chain)).toBe(expected)
  })

  it('waits with every step queued, then begins with the image pinned and the commit known', () => {
    const { run, effects } = startRun(newRun(), t0, { prepare: true })
    expect(effects).toEqual([{ type: 'prepare' }])
    expect(run.state).toBe('running')
    expect(run.steps.every((s) => s.state === 'queued' && s.deadline === null)).toBe(true)

    const result = prepared(run)
    expect(result.ok && result.effects).toEqual([{ type: 'send', ref: ref(1), generation: 1 }])
    expect(result.ok && result.run).toMatchObject({
      image: { tag: 'v1.2.0', digest, reference: 'docker.io/acme/app:v1.2.0' },
      sourceCommit: commit,
      notes: [{ text: 'pinned' }],
      steps: [{ state: 'dispatching' }, { state: 'queued' }, { state: 'queued' }],
    })
  })

  it('is prepared once: a second report (a job run again) is refused', () => {
    const first = prepared(startRun(newRun(), t0, { prepare: true }).run)
    if (!first.ok) throw new Error(first.message)
    expect(prepared(first.run)).toMatchObject({ ok: false, reason: 'stale' })
  })

  it('stays cancelled when it is cancelled while its image is read', () => {
    const waiting = startRun(newRun(), t0, { prepare: true }).run
    const cancelled = advance(waiting, { type: 'cancel', by: 'alice' }, t0)
    if (!cancelled.ok) throw new Error(cancelled.message)
    expect(cancelled.run.steps.map((s) => s.state)).toEqual(['skipped', 'skipped', 'skipped'])
    expect(prepared(cancelled.run)).toMatchObject({ ok: false, reason: 'stale' })
  })

  it('starts at once, with a note, when its registry is known not to answer and only the digest was wanted', () => {
    const asked: string[] = []
    const silent = (registry: string) => {
      asked.push(registry)
      return registry === 'docker.io' ? 'connect ECONNREFUSED (not asked again for 60 s)' : null
    }
    const { runs, jobs } = startRuns([newRun()], t0, [release], silent)
    expect(asked).toEqual(['docker.io'])
    expect(jobs.map((j) => j.kind)).toEqual(['send'])
    expect(runs[0]?.steps.map((s) => s.state)).toEqual(['dispatching', 'queued', 'queued'])
    expect(runs[0]?.notes).toEqual([
      {
        at: t0.toISOString(),
        text: 'The tag v1.2.0 was not pinned to a digest (connect ECONNREFUSED (not asked again for 60 s)): each step gets what the tag points to when it pulls it.',
      },
    ])
    // A registry that answers, and a chain that also wants the commit, still wait for the read.
    expect(startRuns([newRun()], t0, [release], () => null).jobs.map((j) => j.kind)).toEqual([
      'prepare',
    ])
    expect(
      startRuns([newRun({}, reporting)], t0, [reporting], silent).jobs.map((j) => j.kind),
    ).toEqual(['prepare'])
  })

  it('puts the prepare job, and no commit status yet, in the outbox of a new run', () => {
    const { jobs } = startRuns([newRun({}, reporting)], t0, [reporting])
    expect(jobs.map((j) => j.kind)).toEqual(['prepare'])
  })
})
