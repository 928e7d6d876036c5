import fc from 'fast-check'
import type { JWTPayload } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createIssuerKeys } from '../../../src/relay/identity/issuer-keys.js'
import { ISSUER_URL_PATTERN, issuerUrlProblem } from '../../../src/relay/identity/issuer-url.js'
import { createOidcVerifier, oidcVerifier } from '../../../src/relay/identity/oidc-verifier.js'
import {
  IdentityUnavailable,
  TokenRejected,
} from '../../../src/relay/identity/verification-errors.js'
import {
  epoch,
  type LocalOidcIssuer,
  startOidcIssuer,
  unsignedToken,
} from '../../support/oidc-issuer.js'

const AUDIENCE = 'https://relay.example.com/hooks/gar'

let issuer: LocalOidcIssuer
beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(async () => issuer.close())
afterEach(() => {
  issuer.state = 'up'
  issuer.discovery = {}
})

const claims = (changes: JWTPayload = {}): JWTPayload => ({
  iss: issuer.url,
  aud: AUDIENCE,
  sub: '113042352000',
  email: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
  email_verified: true,
  iat: epoch(-60),
  exp: epoch(3540),
  ...changes,
})

/** A verifier with a key cache of its own, so that each test sees the fetches it causes. */
function verifier(options: Parameters<typeof createIssuerKeys>[1] = {}) {
  return createOidcVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    keys: createIssuerKeys(issuer.url, options),
  })
}

/** What `verify` threw: a `TokenRejected` or `IdentityUnavailable`. */
async function refusal(token: string, verify = verifier()) {
  try {
    await verify.verify(token)
  } catch (error) {
    return error as TokenRejected | IdentityUnavailable
  }
  throw new Error('expected the token to be refused')
}

describe('an OpenID Connect verifier', () => {
  it('resolves the claims of a token the issuer signed for the audience', async () => {
    const token = await issuer.sign(claims())

    await expect(verifier().verify(token)).resolves.toMatchObject({
      iss: issuer.url,
      aud: AUDIENCE,
      email: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
    })
  })

  it('finds the keys by discovery once, and verifies later tokens from its cache', async () => {
    const verify = verifier()
    const before = issuer.requests.length
    await verify.verify(await issuer.sign(claims()))
    await verify.verify(await issuer.sign(claims({ sub: 'other' })))

    expect(issuer.requests.slice(before)).toEqual(['/.well-known/openid-configuration', '/jwks'])
  })

  it('takes a token without kid when one key of the issuer fits it', async () => {
    await expect(
      verifier().verify(await issuer.sign(claims(), { kid: null })),
    ).resolves.toBeTruthy()
  })

  it('allows a minute of clock difference', async () => {
    const late = await issuer.sign(claims({ exp: epoch(-30) }))
    const early = await issuer.sign(claims({ iat: epoch(30), nbf: epoch(30) }))

    await expect(verifier().verify(late)).resolves.toBeTruthy()
    await expect(verifier().verify(early)).resolves.toBeTruthy()
  })

  it.each([
    ['expired', { exp: epoch(-120) }, 'expired', /expired at \d{4}-/],
    [
      'for another audience',
      { aud: 'https://elsewhere.example' },
      'audience',
      /"https:\/\/elsewhere/,
    ],
    [
      'from another issuer',
      { iss: 'https://issuer.example' },
      'issuer',
      /"https:\/\/issuer\.example"/,
    ],
    ['not valid yet', { nbf: epoch(600) }, 'not-yet-valid', /not valid before/],
    ['issued in the future', { iat: epoch(600) }, 'issued-in-future', /in the future/],
    ['issued over an hour ago', { iat: epoch(-7200), exp: epoch(600) }, 'too-old', /too long ago/],
    ['without exp', { exp: undefined }, 'missing-claim', /"exp"/],
    ['without iat', { iat: undefined }, 'missing-claim', /"iat"/],
    ['with an exp that is no number', { exp: 'tomorrow' }, 'invalid-claim', /"exp"/],
  ] as const)('refuses a token %s', async (_what, changes, problem, message) => {
    const error = await refusal(await issuer.sign(claims(changes as JWTPayload)))

    expect(error).toBeInstanceOf(TokenRejected)
    expect(error).toMatchObject({ problem })
    expect(error.message).toMatch(message)
  })

  it('refuses a token signed by another key under the kid the issuer publishes', async () => {
    const error = await refusal(await issuer.sign(claims(), { key: 'other-key' }))

    expect(error).toMatchObject({ problem: 'signature' })
    expect(error.message).toContain('signature does not verify')
  })

  it('refuses a token naming a key the issuer does not publish, after fetching its keys again', async () => {
    const verify = verifier({ unknownKeyCooldownMs: 0 })
    await verify.verify(await issuer.sign(claims()))
    const before = issuer.requests.length
    const token = await issuer.sign(claims(), { key: 'other-key', kid: 'rotated-9' })
    const error = await refusal(token, verify)

    expect(error).toMatchObject({ problem: 'unknown-key' })
    expect(error.message).toContain('"rotated-9"')
    expect(issuer.requests.slice(before)).toEqual(['/jwks'])
  })

  it('fetches the keys again for unknown keys at most once per cooldown', async () => {
    const verify = verifier()
    await verify.verify(await issuer.sign(claims()))
    const before = issuer.requests.length
    for (const kid of ['a', 'b', 'c']) {
      const error = await refusal(await issuer.sign(claims(), { key: 'other-key', kid }), verify)
      expect(error).toMatchObject({ problem: 'unknown-key' })
    }

    expect(issuer.requests.length).toBe(before)
  })

  it('refuses an unsigned token (alg none) without asking the issuer anything', async () => {
    const before = issuer.requests.length
    const error = await refusal(unsignedToken(claims()))

    expect(error).toMatchObject({ problem: 'algorithm' })
    expect(error.message).toContain('"none"')
    expect(issuer.requests.length).toBe(before)
  })

  it('refuses HS256 signed with the public key as secret', async () => {
    const error = await refusal(await issuer.sign(claims(), { alg: 'HS256' }))

    expect(error).toMatchObject({ problem: 'algorithm' })
    expect(error.message).toMatch(/"HS256".*only RS256/)
  })

  it.each([
    ['not a JWT', 'not-a-token'],
    ['two parts', 'a.b'],
    ['a header that is not JSON', `${Buffer.from('{').toString('base64url')}.e30.c2ln`],
  ])('refuses %s as malformed', async (_what, token) => {
    expect(await refusal(token)).toMatchObject({ problem: 'malformed' })
  })

  it('never shows the token in its messages', async () => {
    const token = await issuer.sign(claims({ aud: 'other' }))
    const error = await refusal(token)

    expect(error.message).not.toContain(token.split('.')[1])
    expect(error.message).not.toContain(token.split('.')[2])
  })
})

describe('an issuer that cannot be reached', () => {
  it('makes tokens unavailable, not refused, and says why', async () => {
    const down = await startOidcIssuer()
    const token = await down.sign(claims({ iss: down.url }))
    await down.close()
    const verify = createOidcVerifier({
      issuer: down.url,
      audience: AUDIENCE,
      keys: createIssuerKeys(down.url),
    })

    const error = await refusal(token, verify)
    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error.message).toMatch(/could not fetch .*openid-configuration: ECONNREFUSED/)
    expect((error as IdentityUnavailable).retryAfterSeconds).toBeGreaterThan(0)
  })

  it('waits Retry-After before asking again, then verifies once the issuer is back', async () => {
    const verify = verifier({ retryAfterSeconds: 0.3 })
    issuer.state = 'failing'
    const token = await issuer.sign(claims())
    const before = issuer.requests.length

    expect(await refusal(token, verify)).toBeInstanceOf(IdentityUnavailable)
    expect(await refusal(token, verify)).toBeInstanceOf(IdentityUnavailable)
    expect(issuer.requests.length - before).toBe(1)

    issuer.state = 'up'
    await new Promise((resolve) => setTimeout(resolve, 350))
    await expect(verify.verify(token)).resolves.toBeTruthy()
  })

  it('gives up on an issuer that does not answer within the timeout', async () => {
    issuer.state = 'hanging'
    const started = Date.now()
    const error = await refusal(await issuer.sign(claims()), verifier({ timeoutMs: 200 }))

    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error.message).toContain('no answer within 200 ms')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('makes tokens unavailable when the key set cannot be fetched after discovery', async () => {
    issuer.discovery = { jwks_uri: `${issuer.url}/no-such-keys` }
    const error = await refusal(await issuer.sign(claims()))

    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error.message).toContain(`could not get the keys of ${issuer.url}`)
  })

  it('does not trust a discovery document naming another issuer, or keys over plain http', async () => {
    issuer.discovery = { issuer: 'https://impostor.example' }
    const impostor = await refusal(await issuer.sign(claims()))
    expect(impostor).toBeInstanceOf(IdentityUnavailable)
    expect(impostor.message).toContain('names the issuer "https://impostor.example"')

    issuer.discovery = { jwks_uri: 'http://keys.example.com/jwks' }
    const plain = await refusal(await issuer.sign(claims()))
    expect(plain).toBeInstanceOf(IdentityUnavailable)
    expect(plain.message).toContain('jwks_uri')
  })
})

describe('shared verifiers', () => {
  it('are made once per issuer and audience, and share one key cache per issuer', async () => {
    const own = await startOidcIssuer()
    try {
      const first = oidcVerifier(own.url, 'audience-a')
      expect(oidcVerifier(own.url, 'audience-a')).toBe(first)
      const second = oidcVerifier(own.url, 'audience-b')
      expect(second).not.toBe(first)

      await first.verify(await own.sign(claims({ iss: own.url, aud: 'audience-a' })))
      await second.verify(await own.sign(claims({ iss: own.url, aud: 'audience-b' })))
      expect(own.requests).toEqual(['/.well-known/openid-configuration', '/jwks'])
    } finally {
      await own.close()
    }
  })

  it("accept Google's bare issuer name in iss for Google's issuer", async () => {
    const google = createOidcVerifier({
      issuer: 'https://accounts.google.com',
      audience: AUDIENCE,
      keys: createIssuerKeys(issuer.url),
    })
    for (const iss of ['https://accounts.google.com', 'accounts.google.com']) {
      await expect(google.verify(await issuer.sign(claims({ iss })))).resolves.toBeTruthy()
    }
    expect(await refusal(await issuer.sign(claims({ iss: 'google.com' })), google)).toMatchObject({
      problem: 'issuer',
    })
  })
})

describe('issuer URLs', () => {
  const pattern = new RegExp(ISSUER_URL_PATTERN)

  it.each([
    'https://accounts.google.com',
    'https://token.actions.githubusercontent.com',
    'https://login.example.com/realms/acme',
    'https://tenant.example.com/',
    'http://127.0.0.1:8081',
    'http://localhost:9000/issuer',
    'http://[::1]:8081',
    'https://issuer.example.com:65535',
  ])('takes %s', (url) => {
    expect(issuerUrlProblem(url)).toBeNull()
    expect(url).toMatch(pattern)
  })

  it.each([
    'http://accounts.google.com',
    'http://10.0.0.5:8081',
    'ftp://accounts.google.com',
    'https://accounts.google.com?x=1',
    'https://accounts.google.com#x',
    'https://user:pw@accounts.google.com',
    'accounts.google.com',
    'https://issuer.example.com:65536',
    'http://127.0.0.256',
    '',
  ])('refuses %s, in the config schema too', (url) => {
    expect(issuerUrlProblem(url)).toMatch(/https URL/)
    expect(url).not.toMatch(pattern)
  })

  it('that the config schema takes are all taken when the keys are made', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9.:%[\]@/?# -]{0,12}$/)
    const label = fc.oneof(
      fc.stringMatching(/^[a-z0-9-]{1,8}$/),
      fc.constantFrom('xn--a', 'xn--bcher-kva'),
    )
    const host = fc.oneof(
      fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.')),
      fc.array(fc.nat(999), { minLength: 4, maxLength: 4 }).map((octets) => octets.join('.')),
      fc.constantFrom('127.0.0.1', '[::1]', 'localhost'),
    )
    const port = fc.option(
      fc.nat(99999).map((n) => `:${n}`),
      { nil: '' },
    )
    const candidate = fc.oneof(
      fc.tuple(fc.constantFrom('https://', 'http://'), host, port, part).map((p) => p.join('')),
      fc
        .tuple(fc.constantFrom('https://', 'http://', 'http://127.0.0.1'), part, part)
        .map((p) => p.join('')),
      fc.webUrl(),
      fc.string(),
    )
    fc.assert(
      fc.property(candidate, (url) => {
        if (pattern.test(url)) expect(issuerUrlProblem(url), url).toBeNull()
      }),
      { numRuns: 2000 },
    )
  })

  it('are checked when the keys of an issuer are made', () => {
    expect(() => createIssuerKeys('http://issuer.example.com')).toThrow(
      /http only for 127\.0\.0\.1/,
    )
  })
})
