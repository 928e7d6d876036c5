import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { harbor } from '../../../src/relay/sources/harbor.js'
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

const SECRETS = { token: 'harbor-auth-7d0c' }
const INDEX = 'sha256:5d3e1f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e'
const OTHER = 'sha256:8b6a4c2e0f9d7b5a3c1e8f6d4b2a0c9e7f5d3b1a8c6e4f2d0b9a7c5e3f1d8b6a'

const HARBOR_PUSH: PushEvent = {
  source: 'harbor',
  registry: 'harbor.acme.example:8443',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: INDEX,
  pusher: 'robot$acme+ci',
  pushedAt: '2026-11-26T21:31:57.000Z',
  callbackUrl: null,
}

type Resource = Record<string, unknown>

/** The Default-format push with its resources replaced. */
function pushOf(...resources: Resource[]) {
  const body = fixtureJson('harbor-push-artifact.json')
  ;(body.event_data as Record<string, unknown>).resources = resources
  return requestOf(body)
}

describe('harbor source', () => {
  it('normalises a PUSH_ARTIFACT event of the Default payload format', () => {
    const result = harbor.normalise(fixtureRequest('harbor-push-artifact.json'), SECRETS)

    const hash = createHash('sha256').update(fixtureBytes('harbor-push-artifact.json'))
    expect(result).toEqual({
      deliveryId: `2026-11-26T21:31:57.000Z/sha256:${hash.digest('hex')}`,
      pushes: [HARBOR_PUSH],
      ignored: null,
    })
  })

  it('gives a push without occur_at an id from its bytes alone, and the time of receipt as its time', () => {
    const body = fixtureJson('harbor-push-artifact.json')
    body.occur_at = undefined
    const first = harbor.normalise(requestOf(body), SECRETS)
    const again = harbor.normalise(
      requestOf(body, { receivedAt: new Date('2026-11-27T08:00:00Z') }),
      SECRETS,
    )

    expect(first.deliveryId).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(again.deliveryId).toBe(first.deliveryId)
    expect(first.pushes[0]?.pushedAt).toBe(RECEIVED_AT.toISOString())
  })

  it('normalises the same push in the CloudEvents payload format', () => {
    const result = harbor.normalise(
      fixtureRequest('harbor-push-artifact-cloudevents.json'),
      SECRETS,
    )

    expect(result.pushes).toEqual([HARBOR_PUSH])
    expect(result.ignored).toBeNull()
    expect(harbor.contentTypes).toContain('application/cloudevents+json')
  })

  it('gives the same delivery id to the same bytes and another to another delivery', () => {
    const first = harbor.normalise(fixtureRequest('harbor-push-artifact.json'), SECRETS).deliveryId

    expect(harbor.normalise(fixtureRequest('harbor-push-artifact.json'), SECRETS).deliveryId).toBe(
      first,
    )
    expect(
      harbor.normalise(fixtureRequest('harbor-pull-artifact.json'), SECRETS).deliveryId,
    ).not.toBe(first)
  })

  it('ignores other event types, naming them', () => {
    expect(harbor.normalise(fixtureRequest('harbor-pull-artifact.json'), SECRETS).ignored).toBe(
      'Harbor PULL_ARTIFACT events are not pushes',
    )
    for (const type of ['DELETE_ARTIFACT', 'SCANNING_COMPLETED', 'QUOTA_WARNING']) {
      const body = fixtureJson('harbor-push-artifact.json')
      body.type = type
      const result = harbor.normalise(requestOf(body), SECRETS)
      expect(result.pushes).toEqual([])
      expect(result.ignored).toBe(`Harbor ${type} events are not pushes`)
    }
    const pulled = fixtureJson('harbor-push-artifact-cloudevents.json')
    pulled.type = 'harbor.artifact.pulled'
    expect(harbor.normalise(requestOf(pulled), SECRETS).ignored).toBe(
      'Harbor harbor.artifact.pulled events are not pushes',
    )
  })

  it('ignores an artifact pushed by digest, which Harbor reports with the digest as tag', () => {
    const result = harbor.normalise(
      pushOf({
        digest: INDEX,
        tag: INDEX,
        resource_url: `harbor.acme.example:8443/acme/app@${INDEX}`,
      }),
      SECRETS,
    )

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe('artifact pushed by digest without a tag')
  })

  it('ignores a push that names no artifact', () => {
    expect(harbor.normalise(pushOf(), SECRETS).ignored).toBe('the push names no artifact')
  })

  it('makes one push event per tagged resource', () => {
    const result = harbor.normalise(
      pushOf(
        { digest: INDEX, tag: 'v1.2.0', resource_url: 'harbor.acme.example:8443/acme/app:v1.2.0' },
        { digest: OTHER, tag: OTHER, resource_url: `harbor.acme.example:8443/acme/app@${OTHER}` },
        { digest: INDEX, tag: 'latest', resource_url: 'harbor.acme.example:8443/acme/app:latest' },
      ),
      SECRETS,
    )

    expect(result.pushes).toEqual([HARBOR_PUSH, { ...HARBOR_PUSH, tag: 'latest' }])
  })

  it('keeps a repository nested deeper in the project', () => {
    const body = fixtureJson('harbor-push-artifact.json')
    const data = body.event_data as Record<string, unknown>
    data.repository = { name: 'team/app', namespace: 'acme', repo_full_name: 'acme/team/app' }

    expect(harbor.normalise(requestOf(body), SECRETS).pushes[0]?.repository).toBe('acme/team/app')
  })

  it.each([
    ['no type', {}, '/type'],
    ['a push without event data', { type: 'PUSH_ARTIFACT', occur_at: 1 }, '/event_data'],
    [
      'a push without a repository',
      { type: 'PUSH_ARTIFACT', event_data: { resources: [] } },
      '/event_data/repository/repo_full_name',
    ],
    [
      'a resource without its URL',
      {
        type: 'PUSH_ARTIFACT',
        event_data: { resources: [{ tag: 'v1' }], repository: { repo_full_name: 'acme/app' } },
      },
      '/event_data/resources/0/resource_url',
    ],
    [
      'a CloudEvent push without data',
      { specversion: '1.0', type: 'harbor.artifact.pushed' },
      '/data',
    ],
    [
      'resources that are not a list',
      { type: 'PUSH_ARTIFACT', event_data: { resources: 'v1' } },
      '/event_data/resources',
    ],
  ])('rejects %s', (_what, body, pointer) => {
    const error = thrownBy(() => harbor.normalise(requestOf(body), SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected a Harbor (webhook|CloudEvents) payload: /)
  })

  describe('authenticate', () => {
    const request = (authorization?: string) =>
      fixtureRequest('harbor-push-artifact.json', {
        headers: authorization === undefined ? {} : { authorization },
      })

    it('accepts the auth header as configured: the bare token or "Bearer <token>"', () => {
      expect(() => harbor.authenticate(request(SECRETS.token), SECRETS)).not.toThrow()
      expect(() => harbor.authenticate(request(`Bearer ${SECRETS.token}`), SECRETS)).not.toThrow()
    })

    it('rejects another token without repeating the configured one', () => {
      for (const header of [
        'wrong',
        `Bearer wrong`,
        `Basic ${SECRETS.token}`,
        `${SECRETS.token} `,
      ]) {
        const error = thrownBy(() => harbor.authenticate(request(header), SECRETS))
        expect(error).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).not.toContain(SECRETS.token)
      }
    })

    it('says what to configure when there is no Authorization header', () => {
      const error = thrownBy(() => harbor.authenticate(request(), SECRETS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('"Auth Header"')
    })
  })
})
