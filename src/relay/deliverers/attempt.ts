import type { AttemptRecord } from '../model/attempt.js'

/**
 * What one delivery came to. The outbox records `attempts`, then takes the step as dispatched,
 * tries again later (`retry`, no sooner than `retryAfterMs` when set) or ends the step (`failed`).
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; attempts: AttemptRecord[] }
  | { kind: 'retry'; attempts: AttemptRecord[]; error: string; retryAfterMs: number | null }
  | { kind: 'failed'; attempts: AttemptRecord[]; error: string }

/** How one answer (or the lack of one) counts, before it is turned into a `DeliveryOutcome`. */
export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry'; error: string; retryAfterMs: number | null }
  | { kind: 'failed'; error: string }

export function toOutcome(verdict: Verdict, attempts: AttemptRecord[]): DeliveryOutcome {
  switch (verdict.kind) {
    case 'delivered':
      return { kind: 'delivered', attempts }
    case 'retry':
      return { kind: 'retry', attempts, error: verdict.error, retryAfterMs: verdict.retryAfterMs }
    case 'failed':
      return { kind: 'failed', attempts, error: verdict.error }
  }
}

/** Times one request; `finish` makes its record. */
export function startAttempt(now: () => Date = () => new Date()): {
  finish(fields: Pick<AttemptRecord, 'target' | 'request' | 'status' | 'error'>): AttemptRecord
} {
  const startedAt = now()
  const started = performance.now()
  return {
    finish: (fields) => ({
      ...fields,
      durationMs: Math.round(performance.now() - started),
      startedAt: startedAt.toISOString(),
    }),
  }
}
