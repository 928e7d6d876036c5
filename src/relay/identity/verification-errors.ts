/** What is wrong with a token: the sender's to fix (a 401). */
export type TokenProblem =
  | 'malformed'
  | 'algorithm'
  | 'unknown-key'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'issued-in-future'
  | 'too-old'
  | 'missing-claim'
  | 'invalid-claim'

/** The token does not prove who sent it; `message` says why, never showing the token. */
export class TokenRejected extends Error {
  override name = 'TokenRejected'
  constructor(
    readonly problem: TokenProblem,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The issuer's keys could not be had (unreachable, slow, or serving something that is not a key
 * set): nothing the sender can fix, and the same token may verify later. Answered 503.
 */
export class IdentityUnavailable extends Error {
  override name = 'IdentityUnavailable'
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
  }
}

/** A value from a token or an issuer inside a message: as JSON, cut short when long. */
export function shownValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}
