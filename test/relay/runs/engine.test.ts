import { describe, expect, it } from 'vitest'
import type { Run } from '../../../src/relay/model/run.js'
import { advance, type RunInput, startRun } from '../../../src/relay/runs/engine.js'
import { newRun, ref } from './run-fixture.js'

const t0 = new Date('2026-11-26T21:32:00Z')
const later = (ms: number) => new Date(t0.getTime() + ms)

function started(overrides = {}): Run {
  return startRun(newRun(overrides), t0).run
}

function step(run: Run, input: RunInput, at = later(1000)): Run {
  const result = advance(run, input, at)
  if (!result.ok) throw new Error(result.message)
  return result.run
}

const success = (n: number, generation = 1): RunInput => ({
  type: 'callback',
  ref: ref(n),
  generation,
  callback: { state: 'success', description: `step ${n} ok` },
})

describe('the chain engine', () => {
  it('starts a run by sending its first step', () => {
    const { run, effects } = startRun(newRun(), t0)
    expect(run.state).toBe('running')
    expect(run.steps.map((s) => s.state)).toEqual(['dispatching', 'queued', 'queued'])
    expect(run.steps[0]?.deadline).toBe(later(30 * 60_000).toISOString())
    expect(effects).toEqual([{ type: 'send', ref: ref(1), generation: 1 }])
  })

  it('marks a step running once its dispatch is delivered', () => {
    const run = step(started(), { type: 'delivered', ref: ref(1), generation: 1 })
    expect(run.steps[0]).toMatchObject({
      state: 'running',
      dispatchedAt: later(1000).toISOString(),
    })
  })

  it('sends the next step when a step reports success', () => {
    const result = advance(started(), success(1), later(5000))
    expect(result.ok && result.effects).toEqual([{ type: 'send', ref: ref(2), generation: 1 }])
    expect(result.ok && result.run.steps.map((s) => s.state)).toEqual([
      'success',
      'dispatching',
      'queued',
    ])
  })

  it('completes the run only when the last step reports success', () => {
    let run = started()
    run = step(run, success(1))
    run = step(run, success(2))
    expect(run.state).toBe('running')
    const result = advance(run, success(3), later(9000))
    expect(result.ok && result.run.state).toBe('success')
    expect(result.ok && result.run.finishedAt).toBe(later(9000).toISOString())
    expect(result.ok && result.effects).toEqual([{ type: 'notify', event: 'success' }])
  })

  it.each(['failure', 'error'] as const)('stops the chain when a step reports %s', (state) => {
    const run = step(started(), {
      type: 'callback',
      ref: ref(1),
      generation: 1,
      callback: { state, description: '3 of 390 tests FAILED' },
    })
    expect(run.state).toBe(state)
    expect(run.steps.map((s) => s.state)).toEqual([state, 'skipped', 'skipped'])
    expect(run.steps[0]?.description).toBe('3 of 390 tests FAILED')
  })

  it('records a pending report, keeps its link, and ends nothing', () => {
    let run = step(started(), {
      type: 'callback',
      ref: ref(1),
      generation: 1,
      callback: { state: 'pending', description: 'running', target_url: 'https://ci/1' },
    })
    expect(run.state).toBe('running')
    expect(run.steps[0]).toMatchObject({
      state: 'pending',
      description: 'running',
      targetUrl: 'https://ci/1',
    })
    run = step(run, {
      type: 'callback',
      ref: ref(1),
      generation: 1,
      callback: { state: 'success', description: 'done' },
    })
    expect(run.steps[0]).toMatchObject({
      state: 'success',
      description: 'done',
      targetUrl: 'https://ci/1',
    })
  })

  it('lets the first final callback win and refuses a second', () => {
    const run = step(started(), success(1))
    const again = advance(
      run,
      { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
      later(2000),
    )
    expect(again).toMatchObject({ ok: false, reason: 'step-ended' })
  })

  it('ends a step as error when no callback arrives before its deadline', () => {
    const run = step(started(), { type: 'delivered', ref: ref(1), generation: 1 })
    expect(advance(run, { type: 'timeout', ref: ref(1) }, later(60_000))).toMatchObject({
      ok: false,
      reason: 'not-due',
    })
    const result = advance(run, { type: 'timeout', ref: ref(1) }, later(30 * 60_000))
    expect(result.ok && result.run.state).toBe('error')
    expect(result.ok && result.run.steps[0]?.description).toBe('No callback within 30m')
  })

  it('says a step was never dispatched when it times out in the outbox, and why if known', () => {
    const result = advance(started(), { type: 'timeout', ref: ref(1) }, later(31 * 60_000))
    expect(result.ok && result.run.steps[0]?.description).toBe('Not dispatched within 30m')
    const why = advance(
      started(),
      { type: 'timeout', ref: ref(1), lastError: 'GitHub answered 503 Service Unavailable' },
      later(31 * 60_000),
    )
    expect(why.ok && why.run.steps[0]?.description).toBe(
      'Not dispatched within 30m: GitHub answered 503 Service Unavailable',
    )
  })

  it('ends the run as error when a dispatch fails for good, with the reason', () => {
    const run = step(started(), {
      type: 'delivery-failed',
      ref: ref(1),
      generation: 1,
      error: 'GitHub answered 404',
    })
    expect(run.state).toBe('error')
    expect(run.steps[0]).toMatchObject({ state: 'error', description: 'GitHub answered 404' })
  })

  it('asks the registry callback to be told when a run ends, if the event had one', () => {
    const run = startRun(
      newRun({ callbackUrl: 'https://registry.hub.docker.com/u/a/b/hook/x/' }),
      t0,
    ).run
    const result = advance(
      run,
      { type: 'callback', ref: ref(1), generation: 1, callback: { state: 'failure' } },
      later(1),
    )
    expect(result.ok && result.effects).toEqual([
      { type: 'notify-registry' },
      { type: 'notify', event: 'failure' },
    ])
  })

  it('accepts a callback that arrives before the dispatch is marked delivered', () => {
    const run = step(started(), success(1))
    expect(run.steps[0]?.dispatchedAt).not.toBeNull()
  })

  it('resumes a failed run from its failed step, with a new generation', () => {
    let run = step(started(), success(1))
    run = step(run, {
      type: 'callback',
      ref: ref(2),
      generation: 1,
      callback: { state: 'failure', description: 'deploy broke' },
    })
    const result = advance(run, { type: 'retry' }, later(100_000))
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.run.state).toBe('running')
    expect(result.run.finishedAt).toBeNull()
    expect(result.run.steps.map((s) => [s.state, s.generation])).toEqual([
      ['success', 1],
      ['dispatching', 2],
      ['queued', 2],
    ])
    expect(result.run.steps[1]?.description).toBeNull()
    expect(result.effects).toEqual([{ type: 'send', ref: ref(2), generation: 2 }])
    expect(result.run.attempt).toBe(2)
    expect(result.newAttempt).toBe(true)
    const old = advance(
      result.run,
      { type: 'callback', ref: ref(2), generation: 1, callback: { state: 'success' } },
      later(100_001),
    )
    expect(old).toMatchObject({ ok: false, reason: 'stale' })
  })

  it('refuses to retry a run that is running or succeeded', () => {
    expect(advance(started(), { type: 'retry' }, later(1))).toMatchObject({
      ok: false,
      reason: 'not-retryable',
    })
  })

  it('does not let a report for a step that has not started change anything', () => {
    expect(advance(started(), success(2), later(1))).toMatchObject({ ok: false, reason: 'stale' })
  })

  it('never changes the run it was given', () => {
    const run = started()
    const copy = structuredClone(run)
    advance(run, success(1), later(1))
    expect(run).toEqual(copy)
  })
})
