import {
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose'
import { issuerUrlProblem } from './issuer-url.js'
import { IdentityUnavailable, shownValue, TokenRejected } from './verification-errors.js'

export interface IssuerKeysOptions {
  /** Each fetch (discovery document, key set) gives up after this long. */
  timeoutMs?: number
  /** After a failed fetch, tokens are answered "unavailable" for this long without trying again. */
  retryAfterSeconds?: number
  /** Fetched keys are used this long before they are fetched again. */
  cacheMaxAgeMs?: number
  /** A token naming a key not in the set fetches the set again, at most once per this long. */
  unknownKeyCooldownMs?: number
}

// Pub/Sub waits 10 s for an answer by default: discovery and keys must both fit in that.
const DEFAULT_TIMEOUT_MS = 3000
const DEFAULT_RETRY_AFTER_SECONDS = 10
const DEFAULT_CACHE_MAX_AGE_MS = 10 * 60 * 1000
const DEFAULT_UNKNOWN_KEY_COOLDOWN_MS = 30 * 1000

/** The signing keys of one OpenID issuer, found by discovery and cached. */
export interface IssuerKeys {
  readonly issuer: string
  /**
   * The key a token's header names, for jose's `jwtVerify`. Throws `TokenRejected` when the
   * issuer has no such key, `IdentityUnavailable` when the keys cannot be fetched.
   */
  readonly key: JWTVerifyGetKey
}

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>

/**
 * Keys of `issuer`, fetched on first use: `<issuer>/.well-known/openid-configuration` names the
 * `jwks_uri`, which jose's remote key set fetches and caches. A failure is remembered for
 * `retryAfterSeconds`, so that a stream of tokens does not become a stream of fetches.
 */
export function createIssuerKeys(issuer: string, options: IssuerKeysOptions = {}): IssuerKeys {
  const problem = issuerUrlProblem(issuer)
  if (problem !== null) throw new TypeError(`The OpenID issuer ${issuer} ${problem}.`)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const retryAfterSeconds = options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS
  const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`

  let keySet: Promise<RemoteKeySet> | null = null
  let failure: { error: IdentityUnavailable; until: number } | null = null

  const unavailable = (detail: string): IdentityUnavailable => {
    const error = new IdentityUnavailable(detail, retryAfterSeconds)
    failure = { error, until: Date.now() + retryAfterSeconds * 1000 }
    return error
  }

  async function discover(): Promise<RemoteKeySet> {
    let response: Response
    try {
      response = await fetch(discoveryUrl, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      throw unavailable(`could not fetch ${discoveryUrl}: ${networkReason(error, timeoutMs)}`)
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw unavailable(`${discoveryUrl} answered HTTP ${response.status}, not 200`)
    }
    let document: unknown
    try {
      document = await response.json()
    } catch {
      throw unavailable(`${discoveryUrl} did not answer a JSON document`)
    }
    const named = (document as { issuer?: unknown } | null)?.issuer
    if (named !== issuer) {
      throw unavailable(
        `${discoveryUrl} names the issuer ${shownValue(named)}, not ${issuer}: configure the issuer exactly as it names itself`,
      )
    }
    const jwksUri = (document as { jwks_uri?: unknown }).jwks_uri
    const uriProblem = typeof jwksUri === 'string' ? issuerUrlProblem(jwksUri) : 'is missing'
    if (typeof jwksUri !== 'string' || uriProblem !== null) {
      throw unavailable(`the jwks_uri of ${discoveryUrl} ${uriProblem}`)
    }
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      cacheMaxAge: options.cacheMaxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS,
      cooldownDuration: options.unknownKeyCooldownMs ?? DEFAULT_UNKNOWN_KEY_COOLDOWN_MS,
    })
  }

  async function key(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (failure !== null && Date.now() < failure.until) throw failure.error
    // One discovery at a time, kept once it succeeds; a failed one is tried again later.
    keySet ??= discover().catch((error: unknown) => {
      keySet = null
      throw error
    })
    const remote = await keySet
    try {
      return await remote(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) {
        throw new TokenRejected(
          'unknown-key',
          header.kid === undefined
            ? `the token names no key (kid) and no key of ${issuer} fits its algorithm ${header.alg}`
            : `the token names the key ${shownValue(header.kid)}, which ${issuer} does not publish`,
        )
      }
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        throw new TokenRejected(
          'unknown-key',
          `the token names no key (kid), and ${issuer} publishes several that fit it`,
        )
      }
      // The set could not be fetched or read: discover again next time, in case it moved.
      keySet = null
      throw unavailable(`could not get the keys of ${issuer}: ${networkReason(error, timeoutMs)}`)
    }
  }

  return { issuer, key }
}

const shared = new Map<string, IssuerKeys>()

/** The keys of `issuer`, made on first use and shared by every verifier of that issuer. */
export function issuerKeys(issuer: string): IssuerKeys {
  let keys = shared.get(issuer)
  if (keys === undefined) {
    keys = createIssuerKeys(issuer)
    shared.set(issuer, keys)
  }
  return keys
}

/** What went wrong on the way to the issuer, in a few words. */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof errors.JWKSTimeout) return `no answer within ${timeoutMs} ms`
  const name = (error as { name?: unknown } | null)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string') return cause.message
  return error instanceof Error ? error.message : String(error)
}
