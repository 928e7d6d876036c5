import type { Phase } from './run.js'

export type AttemptKind =
  | 'dispatch'
  | 'webhook'
  | 'registry-callback'
  | 'notification'
  | 'image-read'
  | 'commit-status'

/** One HTTP request, as the run's history shows it. */
export interface AttemptRecord {
  /** `acme/deploy` for a dispatch, else the URL without secrets. */
  target: string
  /** What was sent (JSON-able), with secrets and tokens redacted. */
  request: unknown
  /** HTTP status; null when no response came. */
  status: number | null
  /** What went wrong, in words a person can act on; null when the request succeeded. */
  error: string | null
  durationMs: number
  /** ISO 8601. */
  startedAt: string
}

export interface Attempt extends AttemptRecord {
  runId: string
  /** The run's attempt it was made in. */
  runAttempt: number
  /** The step's index in its phase; null for what belongs to the run (registry callback, notifications). */
  step: number | null
  phase: Phase
  /** The branch of a parallel group; 0 otherwise. */
  branch: number
  kind: AttemptKind
}

/**
 * What the history shows of an attempt whose answer the relay never recorded: it stopped, or its
 * database failed.
 */
export const IN_FLIGHT =
  'sent, or about to be, when the relay stopped or could not write to its database: no answer was recorded, and the step was dispatched again'
