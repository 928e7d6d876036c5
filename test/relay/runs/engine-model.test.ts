import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { isFinal, type Run, type Step, type StepRef, stepAt } from '../../../src/relay/model/run.js'
import { advance, type Effect, type RunInput, startRun } from '../../../src/relay/runs/engine.js'
import { newRun } from './run-fixture.js'

/*
 * Model-based: random sequences of callbacks (current and stale), deliveries, approvals, cancels,
 * retries and timeouts, against the rules of parallel groups, approvals and on_failure steps, for
 * groups that require `all` and `any`.
 */

const t0 = Date.parse('2026-11-26T21:32:00Z')
const HOUR = 3_600_000

function chain(require: 'all' | 'any'): Chain {
  return {
    name: 'shapes',
    match: { repository: 'acme/app', tags: null },
    stepTimeoutMs: HOUR,
    steps: [
      { kind: 'dispatch', repository: 'acme/build', eventType: 'build' },
      {
        kind: 'parallel',
        require,
        branches: [
          { kind: 'dispatch', repository: 'acme/a', eventType: 'test' },
          { kind: 'dispatch', repository: 'acme/b', eventType: 'test' },
          { kind: 'webhook', url: 'https://c.example.com/hook', secret: null },
        ],
      },
      { kind: 'approval', timeoutMs: 2 * HOUR },
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
    ],
    onFailure: [
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' },
      { kind: 'webhook', url: 'https://d.example.com/hook', secret: null },
    ],
    notify: [],
  }
}

/** The places a test may aim an input at: every step, branch and rollback step. */
const PLACES: StepRef[] = [
  { phase: 'main', index: 1, branch: 0 },
  { phase: 'main', index: 2, branch: 1 },
  { phase: 'main', index: 2, branch: 2 },
  { phase: 'main', index: 2, branch: 3 },
  { phase: 'main', index: 3, branch: 0 },
  { phase: 'main', index: 4, branch: 0 },
  { phase: 'on_failure', index: 1, branch: 0 },
  { phase: 'on_failure', index: 2, branch: 0 },
]

type Action =
  | {
      kind: 'callback'
      place: number
      state: 'success' | 'failure' | 'error' | 'pending'
      stale: boolean
    }
  | { kind: 'delivered' | 'delivery-failed'; place: number }
  | { kind: 'decide'; approved: boolean }
  | { kind: 'timeout'; place: number }
  | { kind: 'cancel' | 'retry' }

const actions: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('callback' as const),
      place: fc.nat(PLACES.length - 1),
      state: fc.constantFrom('success', 'success', 'failure', 'error', 'pending'),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('delivered' as const, 'delivery-failed' as const),
      place: fc.nat(PLACES.length - 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('decide' as const), approved: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('timeout' as const),
      place: fc.nat(PLACES.length - 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('cancel' as const, 'retry' as const) }),
  },
)

function inputFor(run: Run, action: Action): RunInput {
  switch (action.kind) {
    case 'cancel':
      return { type: 'cancel', by: 'tester' }
    case 'retry':
      return { type: 'retry' }
    case 'decide':
      return {
        type: 'decide',
        ref: PLACES[4] as StepRef,
        approved: action.approved,
        by: 'tester',
        comment: null,
      }
    case 'timeout':
      return { type: 'timeout', ref: PLACES[action.place] as StepRef }
    default: {
      const ref = PLACES[action.place] as StepRef
      const generation =
        (stepAt(run, ref)?.generation ?? 1) - ('stale' in action && action.stale ? 1 : 0)
      if (action.kind === 'callback') {
        return { type: 'callback', ref, generation, callback: { state: action.state } }
      }
      if (action.kind === 'delivered') return { type: 'delivered', ref, generation }
      return { type: 'delivery-failed', ref, generation, error: 'GitHub answered 404' }
    }
  }
}

const LIVE = new Set(['dispatching', 'running', 'pending', 'waiting'])

/** What a group's branches say it should be, by its rule; null while it is undecided. */
function groupByRule(group: Step): Step['state'] | 'stopped' | null {
  const states = group.branches.map((b) => b.state)
  if (group.require === 'any') {
    if (states.includes('success')) return 'success'
    if (states.some((s) => !isFinal(s))) return null
    return states.includes('failure') ? 'failure' : 'error'
  }
  if (states.includes('failure') || states.includes('error')) return 'stopped'
  return states.every((s) => s === 'success') ? 'success' : null
}

/** The rules every run must keep after every transition. */
function checkRules(before: Run, run: Run, input: RunInput, effects: Effect[]): void {
  const main = run.steps
  expect(run.finishedAt === null).toBe(run.state === 'running')
  // Steps before the one under way succeeded; the ones after it wait.
  const current = main.findIndex((s) => !isFinal(s.state))
  if (run.state === 'running') {
    expect(current).toBeGreaterThanOrEqual(0)
    for (const s of main.slice(0, current)) expect(s.state).toBe('success')
    for (const s of main.slice(current + 1)) expect(s.state).toBe('queued')
    expect(LIVE.has(main[current]?.state ?? '')).toBe(true)
  } else {
    for (const s of main) {
      expect(LIVE.has(s.state), `${s.kind} ${s.state} after the run ended`).toBe(false)
      expect(s.state).not.toBe('queued')
      for (const b of s.branches) expect(LIVE.has(b.state)).toBe(false)
    }
  }
  expect(run.state === 'success').toBe(main.every((s) => s.state === 'success'))
  // A group keeps its rule: it ends exactly when its rule is decided, as the rule decides.
  const group = main[1] as Step
  if (group.state !== 'queued' && group.state !== 'skipped') {
    const byRule = groupByRule(group)
    if (group.state === 'running') expect(byRule).toBeNull()
    else if (group.state === 'success') expect(byRule).toBe('success')
    else if (group.state === 'failure' || group.state === 'error') {
      expect(byRule === 'stopped' || byRule === group.state).toBe(true)
      expect(group.branches.every((b) => isFinal(b.state))).toBe(true)
    }
  }
  // Rollback steps run only after a failure or an error, never after a cancel or a success.
  const rolledBack = run.onFailure.some((s) => s.state !== 'queued' && s.state !== 'skipped')
  if (rolledBack) expect(['failure', 'error']).toContain(run.state)
  if (input.type === 'cancel') {
    expect(effects).toEqual([{ type: 'notify', event: 'cancelled' }])
  }
  // Every step sent is one just started, under its current generation.
  for (const effect of effects) {
    if (effect.type !== 'send') continue
    const step = stepAt(run, effect.ref)
    expect(step?.state).toBe('dispatching')
    expect(step?.generation).toBe(effect.generation)
    const was = stepAt(before, effect.ref)
    expect(was?.state === 'dispatching' && was.generation === effect.generation).toBe(false)
  }
  // Attempts only grow, and only with a retry.
  expect(run.attempt).toBe(before.attempt + (input.type === 'retry' ? 1 : 0))
}

describe.each(['all', 'any'] as const)(
  'a chain with a parallel group that requires %s',
  (require) => {
    it('keeps the rules of groups, approvals, cancels, retries and rollbacks in every sequence', () => {
      fc.assert(
        fc.property(fc.array(actions, { minLength: 1, maxLength: 40 }), (sequence) => {
          let clock = t0
          let run = startRun(newRun({}, chain(require), new Date(t0)), new Date(t0)).run
          for (const action of sequence) {
            clock += action.kind === 'timeout' ? 3 * HOUR : 1000
            const input = inputFor(run, action)
            const result = advance(run, input, new Date(clock))
            if (!result.ok) {
              // A callback refused for an ended step says so; nothing changed.
              if (input.type === 'callback' && isFinal(stepAt(run, input.ref)?.state ?? 'queued')) {
                const stale = input.generation !== stepAt(run, input.ref)?.generation
                expect(result.reason).toBe(stale ? 'stale' : 'step-ended')
              }
              continue
            }
            checkRules(run, result.run, input, result.effects)
            run = result.run
          }
        }),
        { numRuns: 400 },
      )
    })
  },
)
