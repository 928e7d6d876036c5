import { describe, expect, it } from 'vitest'
import { isJobStatus, stateFromJobStatus } from '../../src/action/job-status.js'

describe('stateFromJobStatus', () => {
  it.each([
    ['success', 'success'],
    ['failure', 'failure'],
    ['cancelled', 'error'],
  ] as const)('reports a %s job as %s', (status, state) => {
    expect(stateFromJobStatus(status)).toBe(state)
  })

  it.each(['skipped', 'Success', '', 'canceled'])(
    'does not take "%s" for a job status',
    (value) => {
      expect(isJobStatus(value)).toBe(false)
    },
  )
})
