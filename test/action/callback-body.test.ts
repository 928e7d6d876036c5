import { describe, expect, it } from 'vitest'
import { type CallbackParts, composeCallback } from '../../src/action/callback-body.js'
import type { TestCounts } from '../../src/action/junit.js'

const PARTS: CallbackParts = {
  state: null,
  jobStatus: 'success',
  description: null,
  context: 'Deploy / rollout',
  targetUrl: 'https://github.com/acme/deploy/actions/runs/42',
}
const PASSED: TestCounts = { tests: 387, failures: 0, errors: 0, skipped: 0 }
const FAILED: TestCounts = { tests: 390, failures: 3, errors: 0, skipped: 2 }

describe('composeCallback', () => {
  it('reports a successful job with the run as its target', () => {
    expect(composeCallback(PARTS, null)).toEqual({
      callback: {
        state: 'success',
        description: 'Job succeeded',
        context: 'Deploy / rollout',
        target_url: 'https://github.com/acme/deploy/actions/runs/42',
      },
      warnings: [],
    })
  })

  it.each([
    ['a state input', { state: 'pending' }, null, 'pending', 'Job started'],
    ['a failed job', { jobStatus: 'failure' }, null, 'failure', 'Job failed'],
    ['a cancelled job', { jobStatus: 'cancelled' }, null, 'error', 'Job was cancelled'],
    ['passing tests', {}, PASSED, 'success', '387 tests PASSED'],
    [
      'failing tests in a job that succeeded',
      {},
      FAILED,
      'failure',
      '3 of 390 tests FAILED, 2 skipped',
    ],
    [
      'failing tests with an explicit state',
      { state: 'success' },
      FAILED,
      'success',
      '3 of 390 tests FAILED, 2 skipped',
    ],
    [
      'passing tests in a failed job',
      { jobStatus: 'failure' },
      PASSED,
      'failure',
      '387 tests PASSED',
    ],
    [
      'a description input beside tests',
      { description: 'Deployed v1.2.0' },
      FAILED,
      'failure',
      'Deployed v1.2.0',
    ],
  ] as const)(
    'derives state and description from %s',
    (_name, parts, tests, state, description) => {
      const { callback } = composeCallback({ ...PARTS, ...parts }, tests)
      expect(callback.state).toBe(state)
      expect(callback.description).toBe(description)
    },
  )

  it('cuts a long description to 255 characters, with a warning', () => {
    const { callback, warnings } = composeCallback({ ...PARTS, description: 'x'.repeat(300) }, null)
    expect(callback.description).toBe(`${'x'.repeat(254)}…`)
    expect(warnings).toEqual([
      "The description is 300 characters long; it was cut to the callback's limit of 255.",
    ])
  })

  it('cuts a long context to 100 characters, with a warning', () => {
    const { callback, warnings } = composeCallback(
      { ...PARTS, context: `${'Workflow '.repeat(20)}/ job` },
      null,
    )
    expect([...(callback.context ?? '')].length).toBeLessThanOrEqual(100)
    expect(callback.context?.endsWith('…')).toBe(true)
    expect(warnings).toEqual([expect.stringContaining("cut to the callback's limit of 100")])
  })

  it('leaves out a context and a target that the run does not have', () => {
    const { callback } = composeCallback({ ...PARTS, context: null, targetUrl: null }, null)
    expect(callback).toEqual({ state: 'success', description: 'Job succeeded' })
  })

  it('refuses to build a callback the relay would reject', () => {
    expect(() => composeCallback({ ...PARTS, targetUrl: 'https://github.com/a b' }, null)).toThrow(
      'The callback would be rejected: /target_url must be an absolute http(s) URL',
    )
  })
})
