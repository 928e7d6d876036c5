import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { nexus } from '../../../src/relay/sources/nexus.js'
import {
  type AuthRequest,
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from '../../../src/relay/sources/types.js'
import {
  fixtureBytes,
  fixtureJson,
  RECEIVED_AT,
  type RequestParts,
  requestOf,
  thrownBy,
} from './fixture-request.js'

const SECRET = 'nexus-secret-0123456789abcdef'
const SETTINGS = nexus.config.read({ secret: SECRET, registry: 'Nexus.Acme.com:8443' })

const NEXUS_PUSH: PushEvent = {
  source: 'nexus',
  registry: 'nexus.acme.com:8443',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: 'ci-pusher',
  pushedAt: '2026-11-26T21:31:57.219Z',
  callbackUrl: null,
}

const sign = (body: Buffer, secret = SECRET) =>
  createHmac('sha1', secret).update(body).digest('hex')

/** A delivery as Nexus sends it: the fixture's headers beside its exact bytes. */
function delivery(name: string, parts: RequestParts = {}): SourceRequest {
  const headers = fixtureJson(name.replace(/\.json$/, '.headers.json')) as Record<string, string>
  return requestOf(fixtureBytes(name), { ...parts, headers: { ...headers, ...parts.headers } })
}

/** The CREATED fixture with its component changed by `change`, sent with its headers. */
function createdWith(change: (component: Record<string, unknown>) => void) {
  const body = fixtureJson('nexus-created.json')
  change(body.component as Record<string, unknown>)
  const headers = fixtureJson('nexus-created.headers.json') as Record<string, string>
  return requestOf(body, { headers })
}

const bodyId = (name: string, at: string) =>
  `${at}/sha256:${createHash('sha256').update(fixtureBytes(name)).digest('hex')}`

describe('nexus source', () => {
  it('normalises a docker component CREATED event, the registry from the config', () => {
    const result = nexus.normalise(delivery('nexus-created.json'), SETTINGS)

    expect(result).toEqual({
      deliveryId: bodyId('nexus-created.json', NEXUS_PUSH.pushedAt),
      pushes: [NEXUS_PUSH],
      ignored: null,
    })
  })

  it('names the images of a repository listed in repositories as Docker clients reach them', () => {
    const read = (address: string) =>
      nexus.config.read({
        secret: SECRET,
        registry: 'nexus.acme.com:8443',
        repositories: { 'docker-hosted': address, 'docker-other': 'other.acme.com' },
      })
    const request = delivery('nexus-created.json')

    expect(nexus.normalise(request, read('Nexus.Acme.com/docker-hosted')).pushes[0]).toMatchObject({
      registry: 'nexus.acme.com',
      repository: 'docker-hosted/acme/app',
    })
    expect(nexus.normalise(request, read('nexus.acme.com:8444')).pushes[0]).toMatchObject({
      registry: 'nexus.acme.com:8444',
      repository: 'acme/app',
    })
    const unlisted = createdWith(() => {})
    ;(unlisted.body as Record<string, unknown>).repositoryName = 'docker-third'
    expect(nexus.normalise(unlisted, read('x.acme.com')).pushes[0]?.registry).toBe(
      'nexus.acme.com:8443',
    )
  })

  it('takes UPDATED, a tag pushed again, as a push', () => {
    const result = nexus.normalise(delivery('nexus-updated.json'), SETTINGS)

    expect(result.ignored).toBeNull()
    expect(result.pushes).toEqual([{ ...NEXUS_PUSH, pushedAt: '2026-11-26T21:45:02.731Z' }])
  })

  it.each([
    ['nexus-deleted.json', 'Nexus component DELETED events are not pushes'],
    ['nexus-created-maven.json', 'Nexus maven2 components are not container images'],
  ])('ignores %s, saying why', (file, reason) => {
    const result = nexus.normalise(delivery(file), SETTINGS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(reason)
  })

  it('ignores asset and audit webhooks without reading their body', () => {
    for (const webhook of ['rm:repository:asset', 'rm:global:audit']) {
      const request = requestOf(
        { asset: { format: 'docker' } },
        { headers: { 'x-nexus-webhook-id': webhook } },
      )

      expect(nexus.normalise(request, SETTINGS).ignored).toBe(
        `Nexus ${webhook} webhooks are not component events (choose the event type "component")`,
      )
    }
  })

  it('ignores a manifest stored under its digest', () => {
    const request = createdWith((component) => {
      component.version = `sha256:${'b'.repeat(64)}`
    })

    expect(nexus.normalise(request, SETTINGS)).toMatchObject({
      pushes: [],
      ignored: 'manifest pushed by digest without a tag',
    })
  })

  it('gives the same bytes the same id whatever the headers, and each event its own', () => {
    const first = nexus.normalise(delivery('nexus-created.json'), SETTINGS).deliveryId
    const resent = nexus.normalise(
      delivery('nexus-created.json', {
        headers: { 'x-nexus-webhook-delivery': '00000000-0000-4000-8000-000000000000' },
        receivedAt: new Date('2026-11-27T08:00:00Z'),
      }),
      SETTINGS,
    ).deliveryId
    const updated = nexus.normalise(delivery('nexus-updated.json'), SETTINGS).deliveryId

    expect(resent).toBe(first)
    expect(updated).not.toBe(first)
  })

  it('reads the pusher from the initiator, and the time in any offset', () => {
    const cases: [unknown, string | null][] = [
      ['ci-pusher/10.20.30.40', 'ci-pusher'],
      ['anonymous/2001:db8::1', 'anonymous'],
      ['*SYSTEM', '*SYSTEM'],
      ['/10.20.30.40', '/10.20.30.40'],
      [42, null],
    ]
    for (const [initiator, pusher] of cases) {
      const body = fixtureJson('nexus-created.json')
      body.initiator = initiator
      expect(nexus.normalise(requestOf(body), SETTINGS).pushes[0]?.pusher).toBe(pusher)
    }
    const times: [unknown, string][] = [
      ['2026-11-26T23:31:57.219+0200', '2026-11-26T21:31:57.219Z'],
      ['2026-11-26T21:31:57.219Z', '2026-11-26T21:31:57.219Z'],
      ['2026-11-26T21:31:57+00:00', '2026-11-26T21:31:57.000Z'],
      ['yesterday', RECEIVED_AT.toISOString()],
      [1764192717, RECEIVED_AT.toISOString()],
    ]
    for (const [timestamp, pushedAt] of times) {
      const body = fixtureJson('nexus-created.json')
      body.timestamp = timestamp
      expect(nexus.normalise(requestOf(body), SETTINGS).pushes[0]?.pushedAt).toBe(pushedAt)
    }
  })

  it('rejects a body that is no component event, naming the part that is wrong', () => {
    const cases: [SourceRequest, string][] = [
      [requestOf({ action: 'CREATED' }), '/component'],
      [requestOf([1, 2]), ''],
      [
        createdWith((component) => {
          component.version = undefined
        }),
        '/component/version',
      ],
      [
        createdWith((component) => {
          component.version = 'v1 beta'
        }),
        '/component/version',
      ],
      [
        createdWith((component) => {
          component.name = 'Acme/App'
        }),
        '/component/name',
      ],
    ]
    for (const [request, pointer] of cases) {
      const error = thrownBy(() => nexus.normalise(request, SETTINGS))

      expect(error, pointer).toBeInstanceOf(SourcePayloadError)
      expect((error as SourcePayloadError).pointer).toBe(pointer)
      expect((error as Error).message).toMatch(/^expected a Nexus repository component webhook: /)
    }
  })

  describe('authenticate', () => {
    const raw = fixtureBytes('nexus-created.json')
    const withSignature = (value: string | string[] | undefined, body: Buffer | null = raw) =>
      ({
        headers: { 'x-nexus-webhook-signature': value },
        pathSecret: null,
        rawBody: body,
      }) satisfies AuthRequest

    it('asks for the body, then accepts the HMAC-SHA1 of its exact bytes in hex', () => {
      expect(nexus.authenticate(withSignature(sign(raw), null), SETTINGS)).toBe('body-needed')
      expect(nexus.authenticate(withSignature(sign(raw)), SETTINGS)).toBe('authenticated')
      expect(nexus.authenticate(withSignature(sign(raw).toUpperCase()), SETTINGS)).toBe(
        'authenticated',
      )
    })

    it('refuses a signature made with another secret, over other bytes or in another form', () => {
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')), null, 1))
      const sha256 = createHmac('sha256', SECRET).update(raw).digest('hex')
      for (const value of [
        sign(raw, 'another-secret-0123456789'),
        sign(reserialised),
        `sha1=${sign(raw)}`,
        sha256,
      ]) {
        const error = thrownBy(() => nexus.authenticate(withSignature(value), SETTINGS))

        expect(error, value).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('sources.nexus.secret')
        expect((error as Error).message).not.toContain(SECRET)
      }
    })

    it('refuses what is not a signature before the body is read', () => {
      for (const value of [SECRET, '', 'sha1=abc']) {
        const error = thrownBy(() => nexus.authenticate(withSignature(value, null), SETTINGS))

        expect(error, value).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('HMAC-SHA1')
      }
    })

    it('refuses a delivery without the header, or with it twice', () => {
      for (const value of [undefined, [sign(raw), sign(raw)]]) {
        const error = thrownBy(() => nexus.authenticate(withSignature(value, null), SETTINGS))

        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('X-Nexus-Webhook-Signature header')
      }
    })

    it('never accepts the HMAC keyed with an empty secret', () => {
      expect(() =>
        nexus.authenticate(withSignature(sign(raw, '')), { ...SETTINGS, secret: '' }),
      ).toThrow(SourceAuthError)
    })
  })
})
