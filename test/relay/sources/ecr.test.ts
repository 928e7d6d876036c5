import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../../src/relay/config/load.js'
import { ecr } from '../../../src/relay/sources/ecr.js'
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

const SETTINGS = { token: 'ecr-api-key-token-7f21c9' }

const ECR_PUSH: PushEvent = {
  source: 'ecr',
  registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: 'sha256:c2f39f56594ca49d4e9a26c8888747b5681c0e59c24ed7a2f1eeab7615e9cedb',
  pusher: null,
  pushedAt: '2026-11-26T21:31:57.000Z',
  callbackUrl: null,
}

type EcrBody = Record<string, unknown> & { detail: Record<string, unknown> }

/** The documented push with `change` applied. */
function pushWith(change: (event: EcrBody) => void) {
  const body = fixtureJson('ecr-push.json') as EcrBody
  change(body)
  return requestOf(body)
}

const headersOf = (name: string) =>
  JSON.parse(fixtureBytes(name).toString('utf8')) as IncomingHttpHeaders

describe('ecr source', () => {
  it('normalises the documented push, with the headers an API destination sends', () => {
    const request = fixtureRequest('ecr-push.json', { headers: headersOf('ecr-push.headers.json') })

    expect(ecr.normalise(request, SETTINGS)).toEqual({
      deliveryId: '13cde686-328b-6117-af20-0e5566167482',
      pushes: [ECR_PUSH],
      ignored: null,
    })
  })

  it('builds the registry host from the account and the region, .com.cn in China', () => {
    const china = pushWith((event) => (event.region = 'cn-north-1'))
    expect(ecr.normalise(china, SETTINGS).pushes[0]?.registry).toBe(
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
    )
    const gov = pushWith((event) => (event.region = 'us-gov-west-1'))
    expect(ecr.normalise(gov, SETTINGS).pushes[0]?.registry).toBe(
      '123456789012.dkr.ecr.us-gov-west-1.amazonaws.com',
    )
  })

  it('takes the media types newer events carry, and the time of receipt when time is missing', () => {
    const result = ecr.normalise(
      pushWith((event) => {
        event.detail['manifest-media-type'] = 'application/vnd.oci.image.manifest.v1+json'
        event.detail['artifact-media-type'] = 'application/vnd.oci.image.config.v1+json'
        event.time = undefined
      }),
      SETTINGS,
    )

    expect(result.pushes).toEqual([{ ...ECR_PUSH, pushedAt: RECEIVED_AT.toISOString() }])
  })

  it('keeps the event id across EventBridge retries, so a retry is a repeat', () => {
    const first = ecr.normalise(fixtureRequest('ecr-push.json'), SETTINGS)
    const retry = ecr.normalise(
      requestOf(fixtureJson('ecr-push.json'), { receivedAt: new Date('2026-11-26T21:40:00Z') }),
      SETTINGS,
    )
    expect(retry.deliveryId).toBe(first.deliveryId)
  })

  it.each([
    ['ecr-delete.json', 'ECR DELETE actions are not pushes'],
    ['ecr-push-failed.json', 'ECR push with result FAILURE did not complete'],
    ['ecr-image-scan.json', 'ECR events of type "ECR Image Scan" are not pushes'],
  ])('ignores %s, saying why', (name, reason) => {
    const result = ecr.normalise(fixtureRequest(name), SETTINGS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(reason)
    expect(result.deliveryId).toBe(fixtureJson(name).id)
  })

  it.each([
    [
      'an event of another service',
      (event: EcrBody) => (event.source = 'aws.s3'),
      'EventBridge events from aws.s3 are not ECR events',
    ],
    [
      'a replication',
      (event: EcrBody) => (event['detail-type'] = 'ECR Replication Action'),
      'ECR events of type "ECR Replication Action" are not pushes',
    ],
    [
      'a push with no result',
      (event: EcrBody) => (event.detail.result = undefined),
      'ECR push with result "" did not complete',
    ],
    [
      'a push of another spelling',
      (event: EcrBody) => (event.detail['action-type'] = 'push'),
      'ECR push actions are not pushes',
    ],
    [
      'a push by digest',
      (event: EcrBody) => (event.detail['image-tag'] = undefined),
      'image pushed by digest without a tag',
    ],
  ])('ignores %s', (_what, change, reason) => {
    expect(ecr.normalise(pushWith(change), SETTINGS)).toMatchObject({ pushes: [], ignored: reason })
  })

  it.each([
    ['no id', (event: EcrBody) => (event.id = undefined), '/id'],
    ['an empty id', (event: EcrBody) => (event.id = ''), '/id'],
    ['no detail-type', (event: EcrBody) => (event['detail-type'] = undefined), '/detail-type'],
    [
      'an image action without detail',
      (event: EcrBody) => (event.detail = undefined as never),
      '/detail',
    ],
    ['an account that is not one', (event: EcrBody) => (event.account = '1234'), '/account'],
    ['no account', (event: EcrBody) => (event.account = undefined), '/account'],
    ['a region that is not one', (event: EcrBody) => (event.region = 'moon/1'), '/region'],
    [
      'no repository',
      (event: EcrBody) => (event.detail['repository-name'] = undefined),
      '/detail/repository-name',
    ],
    [
      'a repository in capitals',
      (event: EcrBody) => (event.detail['repository-name'] = 'Acme/App'),
      '/detail/repository-name',
    ],
    [
      'a tag with a space',
      (event: EcrBody) => (event.detail['image-tag'] = 'v 1'),
      '/detail/image-tag',
    ],
  ])('rejects %s', (_what, change, pointer) => {
    const error = thrownBy(() => ecr.normalise(pushWith(change), SETTINGS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(/^expected an EventBridge event: /)
  })

  describe('authenticate', () => {
    /** Before the body is read: the API key is a header. */
    const request = (headers: IncomingHttpHeaders) => ({ headers, pathSecret: null, rawBody: null })
    const sent = headersOf('ecr-push.headers.json')

    it('accepts the connection\'s API key "Authorization: Bearer <token>" before reading the body', () => {
      const headers = { ...sent, authorization: `Bearer ${SETTINGS.token}` }
      expect(ecr.authenticate(request(headers), SETTINGS)).toBe('authenticated')
    })

    it.each([
      ['no header', {}, /no Authorization header.*API key named "Authorization"/],
      [
        'the header twice',
        { authorization: [`Bearer ${SETTINGS.token}`, `Bearer ${SETTINGS.token}`] },
        /more than one/,
      ],
      [
        'another token',
        { authorization: 'Bearer ecr-api-key-token-000000' },
        /sources\.ecr\.token/,
      ],
      [
        'the bare token (API key value without "Bearer ")',
        { authorization: SETTINGS.token },
        /"Bearer <token>"/,
      ],
      [
        'basic auth',
        { authorization: `Basic ${Buffer.from(`u:${SETTINGS.token}`).toString('base64')}` },
        /"Bearer <token>"/,
      ],
    ])('refuses %s without showing the token', (_what, headers, message) => {
      const error = thrownBy(() =>
        ecr.authenticate(request({ ...sent, ...(headers as IncomingHttpHeaders) }), SETTINGS),
      )

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain(SETTINGS.token)
    })
  })

  it('is configured with sources.ecr.token', () => {
    const settings = parseSettings(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${NAME} syntax
      'public_url: https://relay.example.com\nsources:\n  ecr: { token: "${ECR_TOKEN}" }\n',
      { env: { ECR_TOKEN: 'ecr-token-0123456789abcdef' }, baseDir: '.' },
    )
    expect(settings.sources.ecr).toEqual({ token: 'ecr-token-0123456789abcdef' })
  })
})
