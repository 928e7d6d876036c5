import type { CallbackState } from '../shared/callback.js'
import type { JobStatus } from './job-status.js'
import type { TestCounts } from './junit.js'

function tests(count: number): string {
  return count === 1 ? '1 test' : `${count} tests`
}

/** Docker Hub's style: "387 tests PASSED", "3 of 390 tests FAILED, 2 skipped". */
export function describeTests(counts: TestCounts): string {
  const failed = counts.failures + counts.errors
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''
  if (counts.tests === 0) return 'No tests ran'
  if (failed > 0) return `${failed} of ${tests(counts.tests)} FAILED${skipped}`
  const passed = counts.tests - counts.skipped
  if (passed <= 0) return `All ${tests(counts.tests)} skipped`
  return `${tests(passed)} PASSED${skipped}`
}

/** The sentence reported when neither a description nor test results were given. */
export function describeJob(state: CallbackState, jobStatus: JobStatus | null): string {
  switch (state) {
    case 'pending':
      return 'Job started'
    case 'success':
      return 'Job succeeded'
    case 'failure':
      return 'Job failed'
    case 'error':
      return jobStatus === 'cancelled' ? 'Job was cancelled' : 'Job ended in error'
  }
}
