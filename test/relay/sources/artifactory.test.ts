import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { artifactory } from '../../../src/relay/sources/artifactory.js'
import {
  type AuthRequest,
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'
import {
  fixtureBytes,
  fixtureJson,
  fixtureRequest,
  RECEIVED_AT,
  requestOf,
  thrownBy,
} from './fixture-request.js'

const SECRET = 'jfrog-secret-0123456789abcdef'
const SETTINGS = artifactory.config.read({ secret: SECRET, registry: 'acme.jfrog.io' })
const MANIFEST = 'sha256:4b4ff4087daa12db174466a9b5613cece04bc120abbbe0a2e51bfb0f62f5381c'
const INDEX = 'sha256:c04d27ba555e667f09789644cc84be5deeefa6796378eb816c21680b07aa74a9'

const ARTIFACTORY_PUSH: PushEvent = {
  source: 'artifactory',
  registry: 'acme.jfrog.io',
  repository: 'docker-local/acme/app',
  tag: 'v1.2.0',
  digest: MANIFEST,
  pusher: null,
  pushedAt: RECEIVED_AT.toISOString(),
  callbackUrl: null,
}

const hmac = (body: Buffer, secret = SECRET) =>
  createHmac('sha256', secret).update(body).digest('hex')

/** The pushed fixture with its `data` changed by `change`. */
function pushedWith(change: (data: Record<string, unknown>) => void) {
  const body = fixtureJson('artifactory-pushed.json')
  change(body.data as Record<string, unknown>)
  return requestOf(body)
}

describe('artifactory source', () => {
  it('normalises a "Docker tag was pushed" event, the image named by the repository path', () => {
    const raw = fixtureBytes('artifactory-pushed.json')
    const result = artifactory.normalise(fixtureRequest('artifactory-pushed.json'), SETTINGS)

    const hash = createHash('sha256').update(raw).digest('hex')
    expect(result).toEqual({
      deliveryId: `${RECEIVED_AT.toISOString()}/sha256:${hash}`,
      pushes: [ARTIFACTORY_PUSH],
      ignored: null,
    })
  })

  it("takes the digest of a multi-arch image from its list manifest's checksum", () => {
    const result = artifactory.normalise(
      fixtureRequest('artifactory-pushed-list-manifest.json'),
      SETTINGS,
    )

    expect(result.pushes).toEqual([{ ...ARTIFACTORY_PUSH, digest: INDEX }])
  })

  it('names the images of a repository listed in repositories as Docker clients reach them', () => {
    const settings = artifactory.config.read({
      secret: SECRET,
      registry: 'acme.jfrog.io',
      repositories: { 'docker-local': 'Docker-Local.Artifactory.acme.com' },
    })
    const viaPort = artifactory.config.read({
      secret: SECRET,
      registry: 'acme.jfrog.io',
      repositories: { 'docker-local': 'artifactory.acme.com:8876' },
    })
    const viaVirtual = artifactory.config.read({
      secret: SECRET,
      registry: 'acme.jfrog.io',
      repositories: { 'docker-local': 'acme.jfrog.io/docker-virtual' },
    })
    const request = fixtureRequest('artifactory-pushed.json')

    expect(artifactory.normalise(request, settings).pushes[0]).toMatchObject({
      registry: 'docker-local.artifactory.acme.com',
      repository: 'acme/app',
    })
    expect(artifactory.normalise(request, viaPort).pushes[0]).toMatchObject({
      registry: 'artifactory.acme.com:8876',
      repository: 'acme/app',
    })
    expect(artifactory.normalise(request, viaVirtual).pushes[0]).toMatchObject({
      registry: 'acme.jfrog.io',
      repository: 'docker-virtual/acme/app',
    })
  })

  it('reads the config block, host names lower-cased, repositories optional', () => {
    expect(SETTINGS).toEqual({ secret: SECRET, registry: 'acme.jfrog.io', repositories: new Map() })
    expect(artifactory.config.read({ secret: SECRET, registry: 'Acme.JFrog.io' }).registry).toBe(
      'acme.jfrog.io',
    )
  })

  it('gives two pushes of the same bytes their own ids, and the same arrival the same one', () => {
    const at = (iso: string) =>
      artifactory.normalise(
        fixtureRequest('artifactory-pushed.json', { receivedAt: new Date(iso) }),
        SETTINGS,
      ).deliveryId
    const first = at('2026-11-26T21:32:00Z')

    expect(at('2026-11-26T21:32:00Z')).toBe(first)
    expect(at('2026-11-26T21:40:00Z')).not.toBe(first)
  })

  it.each([
    ['artifactory-deleted.json', 'Artifactory docker deleted events are not pushes'],
    ['artifactory-promoted.json', 'Artifactory docker promoted events are not pushes'],
    ['artifactory-artifact-deployed.json', 'Artifactory artifact events are not Docker pushes'],
  ])('ignores %s, saying why', (file, reason) => {
    const result = artifactory.normalise(fixtureRequest(file), SETTINGS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(reason)
  })

  it('quotes an unexpected domain or event type rather than echoing it raw', () => {
    const body = fixtureJson('artifactory-pushed.json')
    body.event_type = 'pushed\nnow'

    expect(artifactory.normalise(requestOf(body), SETTINGS).ignored).toBe(
      'Artifactory docker "pushed\\nnow" events are not pushes',
    )
  })

  it('ignores a platform manifest that has no tag of its own', () => {
    for (const tag of [`sha256__${'a'.repeat(64)}`, `sha256:${'a'.repeat(64)}`]) {
      const result = artifactory.normalise(
        pushedWith((data) => {
          data.tag = tag
        }),
        SETTINGS,
      )

      expect(result).toMatchObject({
        pushes: [],
        ignored: 'manifest pushed by digest without a tag',
      })
    }
  })

  it('takes a checksum already written as a digest, and leaves out one that is not', () => {
    const prefixed = pushedWith((data) => {
      data.sha256 = MANIFEST
    })
    const garbled = pushedWith((data) => {
      data.sha256 = 'not-a-checksum'
    })
    const missing = pushedWith((data) => {
      data.sha256 = undefined
    })

    expect(artifactory.normalise(prefixed, SETTINGS).pushes[0]?.digest).toBe(MANIFEST)
    expect(artifactory.normalise(garbled, SETTINGS).pushes[0]?.digest).toBeNull()
    expect(artifactory.normalise(missing, SETTINGS).pushes[0]?.digest).toBeNull()
  })

  it.each([
    ['a body that is no event', { hello: 'world' }, '/domain'],
    ['a pushed event without data', { domain: 'docker', event_type: 'pushed' }, '/data'],
    ['a push without a tag', 'tag', '/data/tag'],
    ['a push without a repo key', 'repo_key', '/data/repo_key'],
    ['a push without an image name', 'image_name', '/data/image_name'],
  ])('rejects %s, naming the part that is wrong', (_, change, pointer) => {
    const request =
      typeof change === 'string'
        ? pushedWith((data) => {
            data[change] = undefined
          })
        : requestOf(change)

    const error = thrownBy(() => artifactory.normalise(request, SETTINGS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected an Artifactory webhook event: /)
  })

  it('rejects a tag, repo key or image name no Docker reference can hold', () => {
    const cases: [string, unknown, string][] = [
      ['tag', 'v1 beta', '/data/tag'],
      ['repo_key', 'Docker-Local', '/data/repo_key'],
      ['image_name', 'Acme/App', '/data/image_name'],
      ['image_name', 42, '/data/image_name'],
    ]
    for (const [key, value, pointer] of cases) {
      const request = pushedWith((data) => {
        data[key] = value
      })

      const error = thrownBy(() => artifactory.normalise(request, SETTINGS))

      expect(error, `${key}: ${String(value)}`).toBeInstanceOf(SourcePayloadError)
      expect((error as SourcePayloadError).pointer).toBe(pointer)
    }
  })

  describe('authenticate', () => {
    const raw = fixtureBytes('artifactory-pushed.json')
    const withAuth = (value: string | string[] | undefined, body: Buffer | null = raw) =>
      ({
        headers: { 'x-jfrog-event-auth': value },
        pathSecret: null,
        rawBody: body,
      }) satisfies AuthRequest

    it('accepts the secret itself before the body is read', () => {
      expect(artifactory.authenticate(withAuth(SECRET, null), SETTINGS)).toBe('authenticated')
    })

    it('asks for the body to check an HMAC-SHA256, and accepts the one of its exact bytes', () => {
      const signature = hmac(raw)

      expect(artifactory.authenticate(withAuth(signature, null), SETTINGS)).toBe('body-needed')
      expect(artifactory.authenticate(withAuth(signature), SETTINGS)).toBe('authenticated')
    })

    it('accepts the HMAC in upper-case hex, and with a sha256= prefix', () => {
      for (const signature of [hmac(raw).toUpperCase(), `sha256=${hmac(raw)}`]) {
        expect(artifactory.authenticate(withAuth(signature), SETTINGS)).toBe('authenticated')
      }
    })

    it('refuses a header that is neither the secret nor a signature, before the body', () => {
      for (const value of ['wrong-secret-0123456789', `${SECRET} `, `sha1=${'a'.repeat(40)}`, '']) {
        const error = thrownBy(() => artifactory.authenticate(withAuth(value, null), SETTINGS))

        expect(error, value).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('sources.artifactory.secret')
        expect((error as Error).message).not.toContain(SECRET)
      }
    })

    it('refuses an HMAC made with another secret, or over other bytes', () => {
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))))
      expect(reserialised.equals(raw)).toBe(false)

      for (const signature of [hmac(raw, 'another-secret-0123456789'), hmac(reserialised)]) {
        const error = thrownBy(() => artifactory.authenticate(withAuth(signature), SETTINGS))

        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('does not match the body')
        expect((error as Error).message).not.toContain(SECRET)
      }
    })

    it('refuses a delivery without the header, or with it twice', () => {
      for (const value of [undefined, [SECRET, SECRET]]) {
        const error = thrownBy(() => artifactory.authenticate(withAuth(value, null), SETTINGS))

        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('X-JFrog-Event-Auth')
      }
    })

    it('never accepts anything for an empty secret, not even the HMAC keyed with it', () => {
      const empty = { ...SETTINGS, secret: '' }
      for (const value of ['', hmac(raw, '')]) {
        expect(() => artifactory.authenticate(withAuth(value), empty)).toThrow(SourceAuthError)
      }
    })
  })
})
