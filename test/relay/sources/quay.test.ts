import { describe, expect, it } from 'vitest'
import { quay } from '../../../src/relay/sources/quay.js'
import {
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'
import { fixtureJson, fixtureRequest, RECEIVED_AT, requestOf, thrownBy } from './fixture-request.js'

const SECRETS = { secret: 'quay-secret-e41b' }

const QUAY_PUSH: PushEvent = {
  source: 'quay',
  registry: 'quay.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: null,
  pushedAt: RECEIVED_AT.toISOString(),
  callbackUrl: null,
}

function pushOf(changes: Record<string, unknown>) {
  return requestOf({ ...fixtureJson('quay-repo-push.json'), ...changes })
}

describe('quay source', () => {
  it('normalises a "Push to Repository" notification into one push event', () => {
    const result = quay.normalise(fixtureRequest('quay-repo-push.json'), SECRETS)

    expect(result.pushes).toEqual([QUAY_PUSH])
    expect(result.ignored).toBeNull()
    expect(result.deliveryId).toMatch(/^2026-11-26T21:32:00\.000Z\/sha256:[0-9a-f]{64}$/)
  })

  it('makes one push event per updated tag, each tag once', () => {
    const result = quay.normalise(pushOf({ updated_tags: ['v1.2.0', 'latest', 'v1.2.0'] }), SECRETS)

    expect(result.pushes).toEqual([QUAY_PUSH, { ...QUAY_PUSH, tag: 'latest' }])
  })

  it('takes the registry host of a self-hosted Quay from docker_url', () => {
    const result = quay.normalise(
      pushOf({ docker_url: 'quay.acme.example:8443/acme/app' }),
      SECRETS,
    )

    expect(result.pushes[0]?.registry).toBe('quay.acme.example:8443')
  })

  it('tells a second push of the same tag, which Quay sends as the same bytes, by its time of receipt', () => {
    const first = quay.normalise(fixtureRequest('quay-repo-push.json'), SECRETS).deliveryId
    // The same bytes normalised again at the same moment: the id depends on nothing else.
    const repeated = quay.normalise(fixtureRequest('quay-repo-push.json'), SECRETS).deliveryId
    const secondPush = quay.normalise(
      fixtureRequest('quay-repo-push.json', { receivedAt: new Date('2026-11-26T21:45:00Z') }),
      SECRETS,
    ).deliveryId
    const otherTag = quay.normalise(pushOf({ updated_tags: ['v1.3.0'] }), SECRETS).deliveryId

    expect(repeated).toBe(first)
    expect(secondPush).not.toBe(first)
    expect(otherTag).not.toBe(first)
  })

  it('ignores the other Quay notifications, such as a finished build', () => {
    const result = quay.normalise(fixtureRequest('quay-build-success.json'), SECRETS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe('Quay notifications other than "Push to Repository" are not pushes')
  })

  it('ignores a push that updated no tags', () => {
    expect(quay.normalise(pushOf({ updated_tags: [] }), SECRETS).ignored).toBe(
      'the push updated no tags',
    )
  })

  it.each([
    ['an empty body', {}, '/repository'],
    [
      'updated_tags that is not a list',
      { ...fixtureJson('quay-repo-push.json'), updated_tags: 'latest' },
      '/updated_tags',
    ],
    [
      'a tag that is not a string',
      { ...fixtureJson('quay-repo-push.json'), updated_tags: ['v1', 2] },
      '/updated_tags/1',
    ],
    [
      'a tag no registry could hold',
      { ...fixtureJson('quay-repo-push.json'), updated_tags: ['v1', '-x'] },
      '/updated_tags/1',
    ],
    [
      'a docker_url without a host',
      { ...fixtureJson('quay-repo-push.json'), docker_url: '/acme/app' },
      '/docker_url',
    ],
    [
      'an impossible repository',
      { ...fixtureJson('quay-repo-push.json'), repository: 'acme//app' },
      '/repository',
    ],
  ])('rejects %s', (_what, body, pointer) => {
    const error = thrownBy(() => quay.normalise(requestOf(body), SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected a Quay repository notification: /)
  })

  describe('authenticate', () => {
    const request = (pathSecret: string | null) =>
      fixtureRequest('quay-repo-push.json', { pathSecret })

    it('accepts the secret of sources.quay.secret in the URL', () => {
      expect(() => quay.authenticate(request(SECRETS.secret), SECRETS)).not.toThrow()
    })

    it('rejects another secret or none', () => {
      const wrong = thrownBy(() => quay.authenticate(request('guess'), SECRETS))
      expect(wrong).toBeInstanceOf(SourceAuthError)
      expect((wrong as Error).message).toBe(
        'the secret in the URL does not match sources.quay.secret',
      )

      const none = thrownBy(() => quay.authenticate(request(null), SECRETS))
      expect(none).toBeInstanceOf(SourceAuthError)
      expect((none as Error).message).toContain('/hooks/quay/<secret>')
    })
  })
})
