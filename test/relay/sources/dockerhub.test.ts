import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { dockerhub } from '../../../src/relay/sources/dockerhub.js'
import {
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

const SECRETS = { secret: 'hub-secret-3f9a' }

function withPushData(changes: Record<string, unknown>) {
  const body = fixtureJson('dockerhub-push.json')
  body.push_data = { ...(body.push_data as object), ...changes }
  return body
}

describe('dockerhub source', () => {
  it("normalises Docker Hub's documented push into one push event", () => {
    const result = dockerhub.normalise(fixtureRequest('dockerhub-push.json'), SECRETS)

    const expected: PushEvent = {
      source: 'dockerhub',
      registry: 'docker.io',
      repository: 'svendowideit/testhook',
      tag: 'latest',
      digest: null,
      pusher: 'trustedbuilder',
      pushedAt: '2014-12-03T00:22:41.000Z',
      callbackUrl:
        'https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
    }
    expect(result).toEqual({
      deliveryId: `2014-12-03T00:22:41.000Z/sha256:${createHash('sha256').update(fixtureBytes('dockerhub-push.json')).digest('hex')}`,
      pushes: [expected],
      ignored: null,
    })
  })

  it('gives the same delivery id to the same bytes and another to another push', () => {
    const first = dockerhub.normalise(fixtureRequest('dockerhub-push.json'), SECRETS)
    const again = dockerhub.normalise(
      fixtureRequest('dockerhub-push.json', { receivedAt: new Date('2026-11-27T08:00:00Z') }),
      SECRETS,
    )
    const later = dockerhub.normalise(requestOf(withPushData({ pushed_at: 1417566999 })), SECRETS)

    expect(again.deliveryId).toBe(first.deliveryId)
    expect(later.deliveryId).not.toBe(first.deliveryId)
    expect(later.deliveryId > first.deliveryId).toBe(true)
  })

  it('gives a push without pushed_at an id from its bytes alone, not from when it came', () => {
    const body = withPushData({ pushed_at: undefined })
    const first = dockerhub.normalise(requestOf(body), SECRETS)
    const again = dockerhub.normalise(
      requestOf(body, { receivedAt: new Date('2026-11-27T08:00:00Z') }),
      SECRETS,
    )

    expect(first.deliveryId).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(again.deliveryId).toBe(first.deliveryId)
  })

  it('keeps an official image repository as Docker Hub names it', () => {
    const body = fixtureJson('dockerhub-push.json')
    body.repository = { repo_name: 'library/nginx', name: 'nginx', namespace: 'library' }

    const [push] = dockerhub.normalise(requestOf(body), SECRETS).pushes

    expect(push?.repository).toBe('library/nginx')
  })

  it('drops a callback_url that is not a URL string but keeps the push', () => {
    for (const callbackUrl of [42, { url: 'https://x' }, 'javascript:alert(1)', 'not a url']) {
      const body = fixtureJson('dockerhub-push.json')
      body.callback_url = callbackUrl

      const result = dockerhub.normalise(requestOf(body), SECRETS)

      expect(result.pushes).toHaveLength(1)
      expect(result.pushes[0]?.callbackUrl).toBeNull()
    }
  })

  it('falls back to the time of receipt and no pusher when Docker Hub leaves them out', () => {
    const body = fixtureJson('dockerhub-push.json')
    body.push_data = { tag: 'v2' }

    const [push] = dockerhub.normalise(requestOf(body), SECRETS).pushes

    expect(push?.pushedAt).toBe(RECEIVED_AT.toISOString())
    expect(push?.pusher).toBeNull()
    expect(push?.tag).toBe('v2')
  })

  it('rejects a body that is not a Docker Hub push, naming the part that is wrong', () => {
    const empty = thrownBy(() => dockerhub.normalise(requestOf({}), SECRETS))
    expect(empty).toBeInstanceOf(SourcePayloadError)
    expect((empty as SourcePayloadError).pointer).toBe('/push_data')
    expect((empty as SourcePayloadError).message).toMatch(/^expected a Docker Hub push payload: /)

    const numericTag = thrownBy(() =>
      dockerhub.normalise(requestOf(withPushData({ tag: 7 })), SECRETS),
    )
    expect(numericTag).toBeInstanceOf(SourcePayloadError)
    expect((numericTag as SourcePayloadError).message).toBe(
      'expected a Docker Hub push payload: /push_data/tag must be a string',
    )
    expect((numericTag as SourcePayloadError).pointer).toBe('/push_data/tag')
  })

  it.each([
    ['a control character', 'v1\u0007'],
    ['a space', 'v 1'],
    ['a leading dot', '.hidden'],
    ['129 characters', 'a'.repeat(129)],
    ['nothing', ''],
  ])('refuses a tag with %s', (_what, tag) => {
    const error = thrownBy(() => dockerhub.normalise(requestOf(withPushData({ tag })), SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe('/push_data/tag')
    expect((error as SourcePayloadError).message).toContain('must be an image tag')
  })

  it('refuses a repository name no registry could hold', () => {
    const body = fixtureJson('dockerhub-push.json')
    body.repository = { repo_name: 'Acme/App\n' }

    const error = thrownBy(() => dockerhub.normalise(requestOf(body), SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe('/repository/repo_name')
  })

  describe('authenticate', () => {
    const request = (pathSecret: string | null) =>
      fixtureRequest('dockerhub-push.json', { pathSecret })

    it('accepts the secret of sources.dockerhub.secret in the URL', () => {
      expect(() => dockerhub.authenticate(request(SECRETS.secret), SECRETS)).not.toThrow()
    })

    it('rejects another secret without repeating the configured one', () => {
      for (const given of ['wrong', `${SECRETS.secret}x`, SECRETS.secret.slice(0, -1), '']) {
        const error = thrownBy(() => dockerhub.authenticate(request(given), SECRETS))
        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toBe(
          'the secret in the URL does not match sources.dockerhub.secret',
        )
        expect((error as Error).message).not.toContain(SECRETS.secret)
      }
    })

    it('says where the secret goes when the URL has none', () => {
      const error = thrownBy(() => dockerhub.authenticate(request(null), SECRETS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('/hooks/dockerhub/<secret>')
    })

    it('never accepts anything when the configured secret is empty', () => {
      const error = thrownBy(() => dockerhub.authenticate(request(''), { secret: '' }))

      expect(error).toBeInstanceOf(SourceAuthError)
    })
  })
})
