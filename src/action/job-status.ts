import type { CallbackState } from '../shared/callback.js'

/** The values of `${{ job.status }}` that a step can see. */
export const JOB_STATUSES = ['success', 'failure', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

const STATE_OF_JOB: Record<JobStatus, CallbackState> = {
  success: 'success',
  failure: 'failure',
  cancelled: 'error',
}

/** success → success, failure → failure, cancelled → error. */
export function stateFromJobStatus(status: JobStatus): CallbackState {
  return STATE_OF_JOB[status]
}

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value)
}
