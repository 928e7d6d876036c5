import type { Callback } from '../../shared/callback.js'
import type { Phase } from './run.js'

/** A step's callback as the history keeps it, with what it did. */
export interface CallbackRecord {
  runId: string
  /** The run's attempt it came in. */
  runAttempt: number
  step: number
  phase: Phase
  branch: number
  generation: number
  receivedAt: string
  body: Callback
  /** `accepted`, or why it changed nothing (`step-ended`, `stale`). */
  outcome: string
}
