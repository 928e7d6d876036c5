export type AttemptKind = 'dispatch' | 'webhook' | 'registry-callback'

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
  /** null for the registry callback, which belongs to the run. */
  step: number | null
  kind: AttemptKind
}

/**
 * What the history shows of an attempt whose answer the relay never recorded: it stopped, or its
 * database failed.
 */
export const IN_FLIGHT =
  'sent, or about to be, when the relay stopped or could not write to its database: no answer was recorded, and the step was dispatched again'
