import type { Callback } from '../../shared/callback.js'

/** A step's callback as the history keeps it, with what it did. */
export interface CallbackRecord {
  runId: string
  step: number
  generation: number
  receivedAt: string
  body: Callback
  /** `accepted`, or why it changed nothing (`step-ended`, `stale`). */
  outcome: string
}
