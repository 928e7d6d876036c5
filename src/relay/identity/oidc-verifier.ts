import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose'
import { type IssuerKeys, issuerKeys } from './issuer-keys.js'
import { IdentityUnavailable, shownValue, TokenRejected } from './verification-errors.js'

/** Signatures made with a private key only: a shared secret (HS256) or none at all is refused. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
]

/** Other spellings of an issuer that its tokens carry in `iss`. */
const ISSUER_ALIASES: Readonly<Record<string, readonly string[]>> = {
  // Google documents both forms for the tokens it signs.
  'https://accounts.google.com': ['accounts.google.com'],
}

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60
// Google's tokens live an hour and Pub/Sub may send one until it expires.
const DEFAULT_MAX_TOKEN_AGE_SECONDS = 3600

export interface OidcVerifierOptions {
  /** The issuer URL, as `iss` and the discovery document name it. */
  issuer: string
  /** The `aud` a token must carry. */
  audience: string
  /** Leeway for `exp`, `nbf` and `iat` against this machine's clock. */
  clockToleranceSeconds?: number
  /** A token issued longer ago than this is refused, whatever its `exp`. */
  maxTokenAgeSeconds?: number
  /** The issuer's keys; by default those shared by every verifier of the issuer. */
  keys?: IssuerKeys
}

export interface OidcVerifier {
  readonly issuer: string
  readonly audience: string
  /**
   * The claims of a token signed by the issuer for the audience, now valid. Throws
   * `TokenRejected` saying what is wrong, or `IdentityUnavailable` when the keys cannot be had.
   */
  verify(token: string): Promise<JWTPayload>
}

export function createOidcVerifier(options: OidcVerifierOptions): OidcVerifier {
  const { issuer, audience } = options
  const keys = options.keys ?? issuerKeys(issuer)
  const verifyOptions = {
    issuer: [issuer, ...(ISSUER_ALIASES[issuer] ?? [])],
    audience,
    algorithms: [...ASYMMETRIC_ALGORITHMS],
    clockTolerance: options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    maxTokenAge: options.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS,
    requiredClaims: ['exp', 'iat'],
  }
  return {
    issuer,
    audience,
    async verify(token) {
      try {
        return (await jwtVerify(token, keys.key, verifyOptions)).payload
      } catch (error) {
        throw explained(error, token, options)
      }
    },
  }
}

const verifiers = new Map<string, OidcVerifier>()

/**
 * The verifier for an issuer and an audience, made on first use and kept: verifiers of one issuer
 * share one cache of its keys.
 */
export function oidcVerifier(issuer: string, audience: string): OidcVerifier {
  const id = JSON.stringify([issuer, audience])
  let verifier = verifiers.get(id)
  if (verifier === undefined) {
    verifier = createOidcVerifier({ issuer, audience })
    verifiers.set(id, verifier)
  }
  return verifier
}

/** jose's error as a `TokenRejected` that says what is wrong with the token. */
function explained(error: unknown, token: string, options: OidcVerifierOptions): unknown {
  if (error instanceof TokenRejected || error instanceof IdentityUnavailable) return error
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRejected(
      'algorithm',
      `the token is signed with ${shownValue(algorithmOf(token))}; only ${ASYMMETRIC_ALGORITHMS.join(', ')} are accepted`,
    )
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRejected(
      'signature',
      `the token's signature does not verify with the key of ${options.issuer} it names`,
    )
  }
  if (error instanceof errors.JWTExpired) {
    const { payload } = error
    return error.claim === 'iat'
      ? new TokenRejected('too-old', `the token was issued at ${time(payload.iat)}, too long ago`)
      : new TokenRejected('expired', `the token expired at ${time(payload.exp)}`)
  }
  if (error instanceof errors.JWTClaimValidationFailed) return claimProblem(error, options)
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return new TokenRejected('malformed', `the token is not a signed JWT (${error.message})`)
  }
  return error
}

function claimProblem(error: errors.JWTClaimValidationFailed, options: OidcVerifierOptions) {
  const { claim, reason, payload } = error
  if (reason === 'missing') {
    return new TokenRejected('missing-claim', `the token has no "${claim}" claim`)
  }
  if (reason !== 'check_failed') {
    return new TokenRejected(
      'invalid-claim',
      `the token's "${claim}" claim is not valid (${error.message})`,
    )
  }
  switch (claim) {
    case 'iss':
      return new TokenRejected(
        'issuer',
        `the token was issued by ${shownValue(payload.iss)}, not by ${options.issuer}`,
      )
    case 'aud':
      return new TokenRejected(
        'audience',
        `the token is for the audience ${shownValue(payload.aud)}`,
      )
    case 'nbf':
      return new TokenRejected(
        'not-yet-valid',
        `the token is not valid before ${time(payload.nbf)}`,
      )
    case 'iat':
      return new TokenRejected(
        'issued-in-future',
        `the token says it was issued at ${time(payload.iat)}, in the future`,
      )
    default:
      return new TokenRejected('invalid-claim', `the token's "${claim}" claim is not valid`)
  }
}

function algorithmOf(token: string): unknown {
  try {
    return decodeProtectedHeader(token).alg
  } catch {
    return undefined
  }
}

function time(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) && Math.abs(seconds) < 1e11
    ? new Date(seconds * 1000).toISOString()
    : shownValue(seconds)
}
