import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { distribution, MANIFEST_MEDIA_TYPES } from '../../../src/relay/sources/distribution.js'
import {
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'
import { fixtureJson, fixtureRequest, requestOf, thrownBy } from './fixture-request.js'

const SECRETS = { token: 'registry-token-81c2' }
const INDEX = 'sha256:5d3e1f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e'
const SEVERAL_IDS = [
  '0e4b9d2f-7a31-4c58-b6e0-d2f9a8c71b45',
  '3a7f1c5e-2d84-4b96-8e0a-c6f4b2d9e137',
  '6c2d8e4a-9f13-4b7e-a5c0-1e8f3d6b2a94',
  '9b5e3a71-c6d2-4f08-b4e9-3a7c1f5d8e62',
  'd1f7b3e9-5a2c-4e86-9c04-b8e2a6d4f170',
  'f4a0c6e2-8b5d-4172-a3f9-6e0d4b8c2a15',
]

type Event = Record<string, unknown> & { target: Record<string, unknown> }

/** The captured manifest push, changed by `change`, alone in an envelope. */
function manifestPush(change: (event: Event) => void = () => {}) {
  const body = fixtureJson('distribution-manifest-push.json') as { events: Event[] }
  const event = body.events[0] as Event
  change(event)
  return requestOf(body)
}

function envelopeOf(...files: string[]) {
  const events = files.flatMap((file) => (fixtureJson(file) as { events: Event[] }).events)
  return requestOf({ events })
}

describe('distribution source', () => {
  it('normalises a captured manifest push by tag into one push event', () => {
    const result = distribution.normalise(
      fixtureRequest('distribution-manifest-push.json'),
      SECRETS,
    )

    const expected: PushEvent = {
      source: 'distribution',
      registry: '127.0.0.1:5055',
      repository: 'acme/app',
      tag: 'v1',
      digest: 'sha256:13d3afd90a502c84a071875c5760471732ee3171b7d807b8334c8eeedb87e979',
      pusher: null,
      pushedAt: '2026-11-26T21:31:57.542Z',
      callbackUrl: null,
    }
    expect(result).toEqual({
      deliveryId: '3c25eeee-a071-43c4-b631-be72e10df63a',
      pushes: [expected],
      ignored: null,
    })
  })

  it('ignores a captured blob push, saying why', () => {
    const result = distribution.normalise(fixtureRequest('distribution-blob-push.json'), SECRETS)

    expect(result).toEqual({
      deliveryId: '21dd1ca8-1c97-4272-872f-cc1ea79d7aac',
      pushes: [],
      ignored: 'blob push (application/octet-stream) is not an image push',
    })
  })

  it('ignores pulls, deletes and mounts', () => {
    expect(distribution.normalise(fixtureRequest('distribution-pull.json'), SECRETS).ignored).toBe(
      'pull events are not pushes',
    )
    for (const action of ['delete', 'mount']) {
      const result = distribution.normalise(
        manifestPush((event) => (event.action = action)),
        SECRETS,
      )
      expect(result.pushes).toEqual([])
      expect(result.ignored).toBe(`${action} events are not pushes`)
    }
  })

  it('ignores a manifest pushed by digest without a tag', () => {
    const result = distribution.normalise(
      manifestPush((event) => delete event.target.tag),
      SECRETS,
    )

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe('manifest pushed by digest without a tag')
  })

  it('makes one push event per tagged manifest of an envelope with several events', () => {
    const result = distribution.normalise(
      fixtureRequest('distribution-envelope-several.json'),
      SECRETS,
    )

    const common = {
      source: 'distribution',
      registry: 'registry.acme.example:5000',
      repository: 'acme/app',
      digest: INDEX,
      pusher: 'ci-bot',
      callbackUrl: null,
    } as const
    expect(result.pushes).toEqual([
      { ...common, tag: 'v2', pushedAt: '2026-11-26T21:31:57.305Z' },
      { ...common, tag: 'latest', pushedAt: '2026-11-26T21:31:57.398Z' },
    ])
    expect(result.ignored).toBeNull()
    const joined = [...SEVERAL_IDS].sort().join('\n')
    expect(result.deliveryId).toBe(`sha256:${createHash('sha256').update(joined).digest('hex')}`)
  })

  it('derives the same delivery id from the same events in any order, another from others', () => {
    const body = fixtureJson('distribution-envelope-several.json') as { events: Event[] }
    const inOrder = distribution.normalise(requestOf(body), SECRETS).deliveryId
    const reversed = distribution.normalise(
      requestOf({ events: [...body.events].reverse() }),
      SECRETS,
    )
    const fewer = distribution.normalise(requestOf({ events: body.events.slice(1) }), SECRETS)

    expect(reversed.deliveryId).toBe(inOrder)
    expect(fewer.deliveryId).not.toBe(inOrder)
    expect(
      distribution.normalise(fixtureRequest('distribution-pull.json'), SECRETS).deliveryId,
    ).not.toBe(
      distribution.normalise(fixtureRequest('distribution-manifest-push.json'), SECRETS).deliveryId,
    )
  })

  it('lists every reason when no event of the envelope is an image push', () => {
    const result = distribution.normalise(
      envelopeOf(
        'distribution-blob-push.json',
        'distribution-pull.json',
        'distribution-blob-push.json',
      ),
      SECRETS,
    )

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(
      'blob push (application/octet-stream) is not an image push; pull events are not pushes',
    )
  })

  it('says so when the envelope holds no events', () => {
    expect(distribution.normalise(requestOf({ events: [] }), SECRETS).ignored).toBe(
      'the envelope holds no events',
    )
  })

  it.each(MANIFEST_MEDIA_TYPES)('takes a tagged push of %s for an image push', (mediaType) => {
    const result = distribution.normalise(
      manifestPush((event) => (event.target.mediaType = mediaType)),
      SECRETS,
    )

    expect(result.pushes).toHaveLength(1)
  })

  it.each([
    'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.docker.image.rootfs.diff.tar.gzip',
    'application/vnd.oci.image.config.v1+json',
  ])('takes a push of %s for a blob push', (mediaType) => {
    const result = distribution.normalise(
      manifestPush((event) => (event.target.mediaType = mediaType)),
      SECRETS,
    )

    expect(result.ignored).toBe(`blob push (${mediaType}) is not an image push`)
  })

  it('quotes an odd word from the registry rather than storing it raw', () => {
    const result = distribution.normalise(
      manifestPush((event) => (event.action = 'pu\nsh')),
      SECRETS,
    )

    expect(result.ignored).toBe('"pu\\nsh" events are not pushes')
  })

  it('takes the registry host from the target URL when the request host is missing', () => {
    const result = distribution.normalise(
      manifestPush((event) => delete event.request),
      SECRETS,
    )

    expect(result.pushes[0]?.registry).toBe('127.0.0.1:5055')
  })

  it('names the actor as pusher and falls back to the time of receipt', () => {
    const result = distribution.normalise(
      manifestPush((event) => {
        event.actor = { name: 'gitlab-ci-token' }
        event.timestamp = 'yesterday'
      }),
      SECRETS,
    )

    expect(result.pushes[0]?.pusher).toBe('gitlab-ci-token')
    expect(result.pushes[0]?.pushedAt).toBe('2026-11-26T21:32:00.000Z')
  })

  it.each([
    ['no events', {}, '/events'],
    ['events that are not a list', { events: {} }, '/events'],
    ['an event without a target', { events: [{ id: 'a', action: 'push' }] }, '/events/0/target'],
    [
      'an event whose action is not a string',
      { events: [{ id: 'a', action: 1, target: {} }] },
      '/events/0/action',
    ],
  ])('rejects an envelope with %s', (_what, body, pointer) => {
    const error = thrownBy(() => distribution.normalise(requestOf(body), SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected a registry notification envelope/)
  })

  it('rejects an image push whose repository, tag or host cannot be stored', () => {
    const cases: [(event: Event) => void, string][] = [
      [(event) => delete event.target.repository, '/events/0/target/repository'],
      [(event) => (event.target.repository = '../../etc'), '/events/0/target/repository'],
      [(event) => (event.target.tag = 'v1;rm -rf'), '/events/0/target/tag'],
      [(event) => (event.request = { host: 'evil host' }), '/events/0/request/host'],
      [
        (event) => {
          delete event.request
          delete event.target.url
        },
        '/events/0/request/host',
      ],
    ]
    for (const [change, pointer] of cases) {
      const error = thrownBy(() => distribution.normalise(manifestPush(change), SECRETS))
      expect(error).toBeInstanceOf(SourcePayloadError)
      expect((error as SourcePayloadError).pointer).toBe(pointer)
    }
  })

  it('accepts both event media types of the registry besides application/json', () => {
    expect(distribution.contentTypes).toEqual([
      'application/vnd.docker.distribution.events.v1+json',
      'application/vnd.docker.distribution.events.v2+json',
    ])
  })

  describe('authenticate', () => {
    const request = (authorization?: string) =>
      fixtureRequest('distribution-manifest-push.json', {
        headers: authorization === undefined ? {} : { authorization },
      })

    it('accepts "Bearer <token>" with the token of sources.distribution.token', () => {
      expect(() =>
        distribution.authenticate(request(`Bearer ${SECRETS.token}`), SECRETS),
      ).not.toThrow()
      expect(() =>
        distribution.authenticate(request(`bearer ${SECRETS.token}`), SECRETS),
      ).not.toThrow()
    })

    it('rejects another token, the bare token and other schemes', () => {
      for (const header of [
        'Bearer wrong',
        SECRETS.token,
        `Basic ${SECRETS.token}`,
        `Bearer ${SECRETS.token}x`,
        'Bearer ',
      ]) {
        const error = thrownBy(() => distribution.authenticate(request(header), SECRETS))
        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).not.toContain(SECRETS.token)
      }
    })

    it('says what to configure when there is no Authorization header', () => {
      const error = thrownBy(() => distribution.authenticate(request(), SECRETS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('Authorization: Bearer <token>')
    })
  })
})
