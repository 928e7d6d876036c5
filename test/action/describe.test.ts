import { describe, expect, it } from 'vitest'
import { describeJob, describeTests } from '../../src/action/describe.js'

describe('describeTests', () => {
  it.each([
    [{ tests: 387, failures: 0, errors: 0, skipped: 0 }, '387 tests PASSED'],
    [{ tests: 1, failures: 0, errors: 0, skipped: 0 }, '1 test PASSED'],
    [{ tests: 390, failures: 2, errors: 1, skipped: 2 }, '3 of 390 tests FAILED, 2 skipped'],
    [{ tests: 1, failures: 1, errors: 0, skipped: 0 }, '1 of 1 test FAILED'],
    [{ tests: 5, failures: 0, errors: 0, skipped: 1 }, '4 tests PASSED, 1 skipped'],
    [{ tests: 2, failures: 0, errors: 0, skipped: 2 }, 'All 2 tests skipped'],
    [{ tests: 0, failures: 0, errors: 0, skipped: 0 }, 'No tests ran'],
  ])('describes %j as "%s"', (counts, expected) => {
    expect(describeTests(counts)).toBe(expected)
  })
})

describe('describeJob', () => {
  it.each([
    ['success', 'success', 'Job succeeded'],
    ['failure', 'failure', 'Job failed'],
    ['error', 'cancelled', 'Job was cancelled'],
    ['error', 'success', 'Job ended in error'],
    ['pending', 'success', 'Job started'],
    ['pending', null, 'Job started'],
  ] as const)('describes state %s after job status %s as "%s"', (state, jobStatus, expected) => {
    expect(describeJob(state, jobStatus)).toBe(expected)
  })
})
