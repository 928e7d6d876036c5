import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { Run, StepRef } from '../../../src/relay/model/run.js'
import { advance, type RunInput, startRun } from '../../../src/relay/runs/engine.js'
import { newRun } from './run-fixture.js'

const t0 = new Date('2026-11-26T21:32:00Z')
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000)

function chain(require: 'all' | 'any' = 'all'): Chain {
  return {
    name: 'shapes',
    match: { repository: 'acme/app', tags: null },
    stepTimeoutMs: 30 * 60_000,
    steps: [
      {
        kind: 'parallel',
        require,
        branches: [
          { kind: 'dispatch', repository: 'acme/api-tests', eventType: 'image-pushed' },
          { kind: 'dispatch', repository: 'acme/ui-tests', eventType: 'image-pushed' },
        ],
      },
      { kind: 'approval', timeoutMs: 2 * 3_600_000 },
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
    ],
    onFailure: [
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' },
      { kind: 'dispatch', repository: 'acme/announce', eventType: 'rolled-back' },
    ],
    notify: [],
  }
}

const main = (index: number, branch = 0): StepRef => ({ phase: 'main', index, branch })
const rollback = (index: number): StepRef => ({ phase: 'on_failure', index, branch: 0 })

function started(require: 'all' | 'any' = 'all') {
  return startRun(newRun({}, chain(require), t0), t0)
}

function apply(run: Run, input: RunInput, when = at(1)) {
  const result = advance(run, input, when)
  if (!result.ok) throw new Error(result.message)
  return result
}

const report = (
  ref: StepRef,
  state: 'success' | 'failure' | 'error',
  generation = 1,
): RunInput => ({
  type: 'callback',
  ref,
  generation,
  callback: { state, description: `${state} here` },
})

const branchStates = (run: Run) => run.steps[0]?.branches.map((b) => b.state)

describe('a parallel group', () => {
  it('sends every branch at once, each to be reported on its own', () => {
    const { run, effects } = started()
    expect(run.steps[0]?.state).toBe('running')
    expect(branchStates(run)).toEqual(['dispatching', 'dispatching'])
    expect(effects).toEqual([
      { type: 'send', ref: main(1, 1), generation: 1 },
      { type: 'send', ref: main(1, 2), generation: 1 },
    ])
  })

  it('requiring all: goes on once every branch succeeded', () => {
    let { run } = started()
    run = apply(run, report(main(1, 1), 'success')).run
    expect(run.steps[0]?.state).toBe('running')
    const { run: next, effects } = apply(run, report(main(1, 2), 'success'))
    expect(next.steps[0]).toMatchObject({
      state: 'success',
      description: 'All 2 branches succeeded',
    })
    expect(next.steps[1]?.state).toBe('waiting')
    expect(effects).toEqual([{ type: 'notify', event: 'approval' }])
  })

  it('requiring all: ends at the first branch that fails, cancels the others, and refuses their reports', () => {
    const { run } = started()
    const { run: ended, effects } = apply(run, report(main(1, 2), 'failure'))
    expect(ended.state).toBe('failure')
    expect(branchStates(ended)).toEqual(['cancelled', 'failure'])
    expect(ended.steps[0]).toMatchObject({
      state: 'failure',
      description: 'Branch 2 of 2 ended as failure (0 succeeded)',
    })
    expect(ended.steps.slice(1).map((s) => s.state)).toEqual(['skipped', 'skipped'])
    expect(effects).toEqual([
      { type: 'notify', event: 'failure' },
      { type: 'send', ref: rollback(1), generation: 1 },
    ])
    expect(advance(ended, report(main(1, 1), 'success'), at(2))).toMatchObject({
      ok: false,
      reason: 'step-ended',
    })
  })

  it('requiring any: goes on at the first branch that succeeds, and cancels the rest', () => {
    const { run } = started('any')
    const { run: next } = apply(run, report(main(1, 1), 'success'))
    expect(branchStates(next)).toEqual(['success', 'cancelled'])
    expect(next.steps[0]).toMatchObject({
      state: 'success',
      description: 'Branch 1 of 2 succeeded',
    })
    expect(next.steps[0]?.branches[1]?.description).toBe('Not needed: branch 1 already succeeded')
  })

  it('requiring any: fails only once every branch has', () => {
    let { run } = started('any')
    run = apply(run, report(main(1, 1), 'error')).run
    expect(run.steps[0]?.state).toBe('running')
    run = apply(run, report(main(1, 2), 'failure')).run
    expect(run.steps[0]).toMatchObject({
      state: 'failure',
      description: 'None of the 2 branches succeeded',
    })
    expect(run.state).toBe('failure')
  })
})

describe('an approval', () => {
  function waiting() {
    let { run } = started()
    run = apply(run, report(main(1, 1), 'success')).run
    return apply(run, report(main(1, 2), 'success'), at(2)).run
  }

  it('waits, with its own deadline, and the people to notify hear of it', () => {
    const run = waiting()
    expect(run.steps[1]).toMatchObject({ state: 'waiting', deadline: at(122).toISOString() })
  })

  it('approved, records who and why, and sends the next step', () => {
    const decided = apply(
      waiting(),
      { type: 'decide', ref: main(2), approved: true, by: 'ana', comment: 'ship it' },
      at(5),
    )
    expect(decided.run.steps[1]).toMatchObject({
      state: 'success',
      decision: { approved: true, by: 'ana', at: at(5).toISOString(), comment: 'ship it' },
      description: 'Approved by ana: ship it',
    })
    expect(decided.effects).toEqual([{ type: 'send', ref: main(3), generation: 1 }])
  })

  it('rejected, ends the run as failure', () => {
    const { run } = apply(waiting(), {
      type: 'decide',
      ref: main(2),
      approved: false,
      by: 'ana',
      comment: null,
    })
    expect(run.state).toBe('failure')
    expect(run.steps.map((s) => s.state)).toEqual(['success', 'failure', 'skipped'])
  })

  it('undecided in time, ends the run as error', () => {
    const run = waiting()
    expect(advance(run, { type: 'timeout', ref: main(2) }, at(60))).toMatchObject({
      reason: 'not-due',
    })
    const { run: ended } = apply(run, { type: 'timeout', ref: main(2) }, at(123))
    expect(ended.steps[1]).toMatchObject({ state: 'error', description: 'No decision within 2h' })
    expect(ended.state).toBe('error')
  })

  it('takes no decision once decided, and no callback ever', () => {
    const run = waiting()
    const decided = apply(run, {
      type: 'decide',
      ref: main(2),
      approved: true,
      by: 'a',
      comment: null,
    }).run
    expect(
      advance(
        decided,
        { type: 'decide', ref: main(2), approved: false, by: 'b', comment: null },
        at(3),
      ),
    ).toMatchObject({ ok: false, reason: 'step-ended' })
    expect(advance(run, report(main(2), 'success'), at(3))).toMatchObject({
      ok: false,
      reason: 'stale',
    })
    expect(
      advance(run, { type: 'decide', ref: main(3), approved: true, by: 'a', comment: null }, at(3)),
    ).toMatchObject({ ok: false, reason: 'stale' })
  })
})

describe('a cancel', () => {
  it('ends the running steps as cancelled and skips the rest; only the notify targets hear of it', () => {
    const { run } = started()
    const { run: cancelled, effects } = apply(run, { type: 'cancel', by: 'ana' })
    expect(cancelled.state).toBe('cancelled')
    expect(branchStates(cancelled)).toEqual(['cancelled', 'cancelled'])
    expect(cancelled.steps.map((s) => s.state)).toEqual(['cancelled', 'skipped', 'skipped'])
    expect(cancelled.steps[0]?.branches[0]?.description).toBe('Cancelled by ana')
    expect(effects).toEqual([{ type: 'notify', event: 'cancelled' }])
    expect(cancelled.onFailure.map((s) => s.state)).toEqual(['skipped', 'skipped'])
    expect(advance(cancelled, { type: 'cancel', by: 'ana' }, at(2))).toMatchObject({
      ok: false,
      reason: 'not-cancellable',
    })
  })
})

describe('on_failure steps', () => {
  it('run in order after a failure, and their own failure leaves the run as it ended', () => {
    let { run } = started()
    run = apply(run, report(main(1, 1), 'failure')).run
    expect(run.onFailure.map((s) => s.state)).toEqual(['dispatching', 'queued'])
    const next = apply(run, report(rollback(1), 'success'), at(2))
    expect(next.effects).toEqual([{ type: 'send', ref: rollback(2), generation: 1 }])
    const failed = apply(next.run, report(rollback(2), 'error'), at(3)).run
    expect(failed.state).toBe('failure')
    expect(failed.finishedAt).toBe(at(1).toISOString())
    expect(failed.onFailure.map((s) => s.state)).toEqual(['success', 'error'])
  })
})

describe('a retry', () => {
  it('starts attempt 2 from the failed group, every branch again under a new generation', () => {
    let { run } = started()
    run = apply(run, report(main(1, 1), 'failure')).run
    const retried = apply(run, { type: 'retry' }, at(10))
    expect(retried.newAttempt).toBe(true)
    expect(retried.run.attempt).toBe(2)
    expect(retried.run.state).toBe('running')
    expect(branchStates(retried.run)).toEqual(['dispatching', 'dispatching'])
    expect(retried.run.onFailure.map((s) => [s.state, s.generation])).toEqual([
      ['queued', 2],
      ['queued', 2],
    ])
    expect(retried.effects).toEqual([
      { type: 'send', ref: main(1, 1), generation: 2 },
      { type: 'send', ref: main(1, 2), generation: 2 },
    ])
    expect(advance(retried.run, report(main(1, 2), 'success', 1), at(11))).toMatchObject({
      reason: 'stale',
    })
  })

  it('takes a cancelled run too', () => {
    let { run } = started()
    run = apply(run, { type: 'cancel', by: 'ana' }).run
    expect(apply(run, { type: 'retry' }, at(2)).run.attempt).toBe(2)
  })
})
