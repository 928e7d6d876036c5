/** Why the write path refused a request; the HTTP layer turns each into its problem type. */
export type RefusalReason =
  | 'run-not-found'
  | 'event-not-found'
  | 'run-not-retryable'
  | 'event-has-no-push'
  | 'no-chain-matches'
  | 'unknown-callback-token'
  | 'step-ended'
  | 'run-not-cancellable'
  | 'step-not-found'
  | 'approval-not-waiting'
  | 'chain-not-found'

/** A request the run service will not carry out; `message` says why and what to do. */
export class RunRefused extends Error {
  override name = 'RunRefused'
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message)
  }
}
