import type { IncomingHttpHeaders } from 'node:http'
import fc from 'fast-check'
import type { JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, parseSettings } from '../../../src/relay/config/load.js'
import { IdentityUnavailable } from '../../../src/relay/identity/verification-errors.js'
import { type GarSettings, gar } from '../../../src/relay/sources/gar.js'
import {
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'
import {
  epoch,
  type LocalOidcIssuer,
  pubSubClaims,
  type SigningChoice,
  startOidcIssuer,
  unsignedToken,
} from '../../support/oidc-issuer.js'
import { fixtureJson, fixtureRequest, RECEIVED_AT, requestOf, thrownBy } from './fixture-request.js'

const DIGEST = 'sha256:a235dc568a4d644882d31b387258d4a7619e5b10f0b51eedb33e11436e49bb2b'
const IMAGE = 'us-east1-docker.pkg.dev/acme-prod/containers/app'
const SUBSCRIPTION = {
  audience: 'https://relay.example.com/hooks/gar',
  serviceAccount: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
}

const GAR_PUSH: PushEvent = {
  source: 'gar',
  registry: 'us-east1-docker.pkg.dev',
  repository: 'acme-prod/containers/app',
  tag: 'v1.2.0',
  digest: DIGEST,
  pusher: null,
  pushedAt: '2026-11-26T21:31:57.749Z',
  callbackUrl: null,
}

/** A push envelope whose message data is `data` (JSON unless it is a string), as Pub/Sub sends it. */
function envelopeOf(data: unknown, message: Record<string, unknown> = {}) {
  const body = fixtureJson('gar-insert.json')
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  body.message = {
    ...(body.message as object),
    data: Buffer.from(text).toString('base64'),
    ...message,
  }
  return requestOf(body)
}

describe('gar source', () => {
  it('normalises an INSERT with digest and tag, full references both', () => {
    expect(gar.normalise(fixtureRequest('gar-insert.json'), {} as GarSettings)).toEqual({
      deliveryId: '2070443601311540',
      pushes: [GAR_PUSH],
      ignored: null,
    })
  })

  it('normalises an INSERT that names only the tag, as Container Registry sends it', () => {
    const result = gar.normalise(fixtureRequest('gar-insert-tag-only.json'), {} as GarSettings)

    expect(result).toEqual({
      deliveryId: '2070443601311542',
      pushes: [{ ...GAR_PUSH, digest: null, pushedAt: '2026-11-26T21:31:57.803Z' }],
      ignored: null,
    })
  })

  it('reads the registry and repository of any host the reference names', () => {
    const cases: [string, Partial<PushEvent>][] = [
      ['gcr.io/acme-prod/app:v1', { registry: 'gcr.io', repository: 'acme-prod/app', tag: 'v1' }],
      [
        'europe-docker.pkg.dev/p/r/team/app:latest',
        { registry: 'europe-docker.pkg.dev', repository: 'p/r/team/app', tag: 'latest' },
      ],
      [
        `localhost:5000/p/app:v1@${DIGEST}`,
        { registry: 'localhost:5000', repository: 'p/app', tag: 'v1', digest: DIGEST },
      ],
    ]
    for (const [tag, expected] of cases) {
      const result = gar.normalise(envelopeOf({ action: 'INSERT', tag }), {} as GarSettings)
      expect(result.pushes).toEqual([expect.objectContaining(expected)])
    }
  })

  it('takes the time of receipt when publishTime is missing', () => {
    const result = gar.normalise(
      envelopeOf({ action: 'INSERT', tag: `${IMAGE}:v1.2.0` }, { publishTime: undefined }),
      {} as GarSettings,
    )
    expect(result.pushes[0]?.pushedAt).toBe(RECEIVED_AT.toISOString())
  })

  it.each([
    ['gar-delete.json', 'Artifact Registry DELETE notifications are not pushes'],
    ['gar-insert-digest-only.json', 'image pushed by digest without a tag'],
  ])('ignores %s, saying why', (name, reason) => {
    const result = gar.normalise(fixtureRequest(name), {} as GarSettings)

    expect(result).toEqual({
      deliveryId: (fixtureJson(name).message as { messageId: string }).messageId,
      pushes: [],
      ignored: reason,
    })
  })

  // Pub/Sub sends a message again until it gets a 2xx: what the publisher put in it will never
  // read better, so it is recorded as ignored, not refused.
  it.each([
    ['no data', { data: undefined }, 'the Pub/Sub message has no data'],
    ['empty data', { data: '' }, 'the Pub/Sub message has no data'],
    ['data that is not UTF-8', { data: Buffer.from([0xff, 0xfe]).toString('base64') }, /not UTF-8/],
    ['data that is not JSON', { data: Buffer.from('hello').toString('base64') }, /not JSON/],
  ])('ignores a message with %s', (_what, message, reason) => {
    const result = gar.normalise(envelopeOf('', message), {} as GarSettings)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toMatch(reason)
    expect(result.deliveryId).toBe('2070443601311540')
  })

  it.each([
    ['a JSON string', '"hello"', /not a JSON object/],
    ['a list', [1], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['no action', { tag: `${IMAGE}:v1` }, /\/action is required/],
    ['an action that is no text', { action: 1 }, /\/action must be a string/],
    [
      'an unknown action',
      { action: 'UPDATE', tag: `${IMAGE}:v1` },
      /UPDATE notifications are not pushes/,
    ],
    ['an INSERT naming nothing', { action: 'INSERT' }, /names no image/],
    [
      'a tag without registry host',
      { action: 'INSERT', tag: 'acme/app:v1' },
      /\/tag must be a full image reference/,
    ],
    ['a tag reference without tag', { action: 'INSERT', tag: IMAGE }, /\/tag must end with :<tag>/],
    ['a bad tag', { action: 'INSERT', tag: `${IMAGE}:-v1` }, /\/tag must be an image tag/],
    [
      'a repository in capitals',
      { action: 'INSERT', tag: 'gcr.io/Acme/App:v1' },
      /\/tag must be a repository path/,
    ],
    [
      'a digest reference without digest',
      { action: 'INSERT', digest: IMAGE, tag: `${IMAGE}:v1` },
      /\/digest must end with @<digest>/,
    ],
    [
      'a digest that is none',
      { action: 'INSERT', digest: `${IMAGE}@latest`, tag: `${IMAGE}:v1` },
      /\/digest must end with a digest/,
    ],
    [
      'a digest and a tag of different images',
      { action: 'INSERT', digest: `gcr.io/other/app@${DIGEST}`, tag: `${IMAGE}:v1` },
      /name different images/,
    ],
  ])('ignores a notification that is %s, saying why', (_what, data, reason) => {
    const result = gar.normalise(envelopeOf(data as never), {} as GarSettings)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toMatch(reason)
  })

  it('answers any data in a Pub/Sub envelope with a push that fits a reference, or a reason', () => {
    const reference = fc.oneof(
      fc.string(),
      fc.constantFrom(`${IMAGE}:v1`, `${IMAGE}@${DIGEST}`, 'gcr.io/p/app:v1', 'a:b/c@d', '@', ':'),
      fc
        .tuple(fc.constantFrom(`${IMAGE}`, 'gcr.io/p/app', 'localhost/x'), fc.string(), fc.string())
        .map(([name, sep, end]) => `${name}${sep}${end}`),
    )
    const data = fc.oneof(
      fc
        .record(
          {
            action: fc.oneof(fc.constantFrom('INSERT', 'DELETE'), fc.jsonValue()),
            tag: reference,
            digest: reference,
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string({ unit: 'binary' }),
    )
    fc.assert(
      fc.property(data, (text) => {
        const result = gar.normalise(envelopeOf(text), {} as GarSettings)
        for (const push of result.pushes) {
          expect(push.tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/)
          expect(push.repository).toMatch(/^[a-z0-9]+(?:[._/-]+[a-z0-9]+)*$/)
          expect(push.registry).not.toMatch(/[\s/@]/)
        }
        expect(result.pushes.length === 1 || typeof result.ignored === 'string').toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  // Pub/Sub always sends its envelope: a body without one is a mistake of configuration (such as
  // a subscription with payload unwrapping), which the 422 shows; Pub/Sub keeps the message.
  it.each([
    [
      'the bare notification of an unwrapping subscription',
      { action: 'INSERT', tag: `${IMAGE}:v1` },
      '/message',
    ],
    ['no message', { subscription: 'projects/p/subscriptions/s' }, '/message'],
    ['a message that is text', { message: 'hi' }, '/message'],
    ['no messageId', { message: { data: 'e30=' } }, '/message/messageId'],
    ['an empty messageId', { message: { messageId: '', data: 'e30=' } }, '/message/messageId'],
    [
      'a messageId that is a number',
      { message: { messageId: 1, data: 'e30=' } },
      '/message/messageId',
    ],
    ['data that is a number', { message: { messageId: '1', data: 5 } }, '/message/data'],
    [
      'data that is not base64',
      { message: { messageId: '1', data: 'not base64!' } },
      '/message/data',
    ],
  ])('rejects %s', (_what, body, pointer) => {
    const error = thrownBy(() => gar.normalise(requestOf(body), {} as GarSettings))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected a Pub\/Sub push message/)
  })
})

describe('gar authentication', () => {
  let issuer: LocalOidcIssuer
  let settings: GarSettings
  beforeAll(async () => {
    issuer = await startOidcIssuer()
    settings = { ...SUBSCRIPTION, issuer: issuer.url }
  })
  afterAll(async () => issuer.close())

  /** Before the body is read: the token is a header. */
  const request = (headers: IncomingHttpHeaders) => ({ headers, pathSecret: null, rawBody: null })
  const bearer = async (changes: JWTPayload = {}, choice?: SigningChoice) => ({
    authorization: `Bearer ${await issuer.sign(pubSubClaims(issuer, SUBSCRIPTION, changes), choice)}`,
  })

  async function refusal(headers: IncomingHttpHeaders, with_ = settings) {
    try {
      await gar.authenticate(request(headers), with_)
    } catch (error) {
      return error as Error
    }
    throw new Error('expected the request to be refused')
  }

  it("accepts the token Pub/Sub signs for the subscription's service account, before the body", async () => {
    await expect(gar.authenticate(request(await bearer()), settings)).resolves.toBe('authenticated')
  })

  it('compares the service account without regard to case', async () => {
    const upper = { ...settings, serviceAccount: SUBSCRIPTION.serviceAccount.toUpperCase() }
    await expect(gar.authenticate(request(await bearer()), upper)).resolves.toBe('authenticated')
  })

  it.each([
    ['expired', { exp: epoch(-300) }, undefined, /expired at .*this machine's clock/],
    [
      'for another audience',
      { aud: 'https://relay.example.com/hooks/other' },
      undefined,
      /audience "https:\/\/relay\.example\.com\/hooks\/other".*--push-auth-token-audience/,
    ],
    [
      'from another issuer',
      { iss: 'https://accounts.example.com' },
      undefined,
      /issued by "https:\/\/accounts\.example\.com"/,
    ],
    [
      'of another service account',
      { email: 'intruder@evil-project.iam.gserviceaccount.com' },
      undefined,
      /for "intruder@evil-project\.iam\.gserviceaccount\.com", not for the service account of sources\.gar\.service_account/,
    ],
    ['without email', { email: undefined }, undefined, /for no email/],
    [
      'with its email not verified',
      { email_verified: false },
      undefined,
      /email_verified is not true/,
    ],
    [
      'with email_verified as text',
      { email_verified: 'true' },
      undefined,
      /email_verified is not true/,
    ],
    [
      'signed by another key under the same kid',
      {},
      { key: 'other-key' },
      /signature does not verify/,
    ],
    [
      'naming a key the issuer does not publish',
      {},
      { key: 'other-key', kid: 'k2' },
      /"k2", which .* does not publish/,
    ],
    ['signed with HS256 and the public key as secret', {}, { alg: 'HS256' }, /"HS256"; only RS256/],
  ] as const)('refuses a token %s, saying what to fix', async (_what, changes, choice, message) => {
    const error = await refusal(await bearer(changes as JWTPayload, choice as SigningChoice))

    expect(error).toBeInstanceOf(SourceAuthError)
    expect(error.message).toMatch(message)
  })

  it('refuses an unsigned token (alg none)', async () => {
    const token = unsignedToken(pubSubClaims(issuer, SUBSCRIPTION))
    const error = await refusal({ authorization: `Bearer ${token}` })

    expect(error).toBeInstanceOf(SourceAuthError)
    expect(error.message).toContain('"none"')
  })

  it.each([
    ['no Authorization header', {}, /enable authentication on the Pub\/Sub push subscription/],
    ['another scheme', { authorization: 'Basic dTpw' }, /not "Bearer <token>"/],
    ['a token that is no JWT', { authorization: 'Bearer not-a-jwt' }, /not a signed JWT/],
    ['the header twice', { authorization: ['Bearer a.b.c', 'Bearer a.b.c'] }, /more than one/],
  ])('refuses %s', async (_what, headers, message) => {
    const error = await refusal(headers as IncomingHttpHeaders)

    expect(error).toBeInstanceOf(SourceAuthError)
    expect(error.message).toMatch(message)
  })

  it('never shows the token it refuses', async () => {
    const headers = await bearer({ aud: 'other' })
    const error = await refusal(headers)

    expect(error.message).not.toContain(headers.authorization.split('.')[2])
  })

  it('leaves a token it cannot check yet to be answered as unavailable, not refused', async () => {
    const down = await startOidcIssuer()
    await down.close()
    const token = await down.sign(pubSubClaims(down, SUBSCRIPTION))
    const error = await refusal(
      { authorization: `Bearer ${token}` },
      { ...settings, issuer: down.url },
    )

    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error).not.toBeInstanceOf(SourceAuthError)
  })
})

describe('gar config', () => {
  const config = (block: string) =>
    `public_url: https://relay.example.com\nsources:\n  gar:\n${block.replace(/^/gm, '    ')}\n`
  const parse = (block: string) => parseSettings(config(block), { env: {}, baseDir: '.' })
  const problems = (block: string) => {
    try {
      parse(block)
    } catch (error) {
      if (error instanceof ConfigError) return error.problems
      throw error
    }
    throw new Error('expected the config to be refused')
  }

  it("defaults the issuer to Google's", () => {
    const settings = parse(
      'audience: https://relay.example.com/hooks/gar\nservice_account: pubsub-push@acme-prod.iam.gserviceaccount.com',
    )
    expect(settings.sources.gar).toEqual({
      audience: 'https://relay.example.com/hooks/gar',
      serviceAccount: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
      issuer: 'https://accounts.google.com',
    })
  })

  it('takes an issuer on loopback over http, for tests', () => {
    const settings = parse(
      'audience: a\nservice_account: s@p.iam.gserviceaccount.com\nissuer: http://127.0.0.1:8099',
    )
    expect((settings.sources.gar as GarSettings).issuer).toBe('http://127.0.0.1:8099')
  })

  it('refuses an http issuer elsewhere, a service account that is no email, and missing keys', () => {
    expect(
      problems(
        'audience: a\nservice_account: s@p.iam.gserviceaccount.com\nissuer: http://accounts.google.com',
      ),
    ).toEqual([
      { path: 'sources.gar.issuer', message: expect.stringContaining('http only for 127.0.0.1') },
    ])
    expect(problems('audience: a\nservice_account: pubsub-push')).toEqual([
      {
        path: 'sources.gar.service_account',
        message: expect.stringContaining('email of a service account'),
      },
    ])
    expect(problems('issuer: https://accounts.google.com').map((p) => p.path)).toEqual([
      'sources.gar.audience',
      'sources.gar.service_account',
    ])
  })
})
