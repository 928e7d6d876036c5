import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../../src/relay/config/load.js'
import { acr } from '../../../src/relay/sources/acr.js'
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

const SETTINGS = { token: 'acr-webhook-token-51c0e2' }
const DIGEST = 'sha256:acb9803de19a3b59064399e82e4fd0b4726d140e5cb656a7fbfaf810aadd0b9b'

const ACR_PUSH: PushEvent = {
  source: 'acr',
  registry: 'acmecr.azurecr.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: DIGEST,
  pusher: null,
  pushedAt: '2026-11-26T21:31:57.276Z',
  callbackUrl: null,
}

type AcrBody = Record<string, unknown> & { target: Record<string, unknown> }

/** The documented push with `change` applied. */
function pushWith(change: (event: AcrBody) => void) {
  const body = fixtureJson('acr-push.json') as AcrBody
  change(body)
  return requestOf(body)
}

describe('acr source', () => {
  it('normalises the documented push event, its GUID as the delivery id', () => {
    const result = acr.normalise(fixtureRequest('acr-push.json'), SETTINGS)

    expect(result).toEqual({
      deliveryId: '5f0c4a8e-2b1d-4c6e-9a3f-7d8e1b2c3a4f',
      pushes: [ACR_PUSH],
      ignored: null,
    })
  })

  it('keeps a repository nested deeper, and the pusher when ACR names one', () => {
    const result = acr.normalise(
      pushWith((event) => {
        event.target.repository = 'team/acme/app'
        event.actor = { name: 'ci-robot' }
      }),
      SETTINGS,
    )

    expect(result.pushes).toEqual([
      { ...ACR_PUSH, repository: 'team/acme/app', pusher: 'ci-robot' },
    ])
  })

  it('takes the time of receipt when the event has no timestamp it can read', () => {
    for (const timestamp of [undefined, 'yesterday', 17]) {
      const result = acr.normalise(
        pushWith((event) => (event.timestamp = timestamp)),
        SETTINGS,
      )
      expect(result.pushes[0]?.pushedAt).toBe(RECEIVED_AT.toISOString())
    }
  })

  it.each([
    ['acr-delete.json', 'ACR delete events are not pushes'],
    [
      'acr-chart-push.json',
      'ACR chart_push events come from the legacy Helm chart repository, not image pushes',
    ],
    [
      'acr-quarantine.json',
      'ACR quarantine events are not pushes: ACR sends a push event once the image may be pulled',
    ],
    ['acr-ping.json', 'ACR ping (the webhook test)'],
  ])('ignores %s, saying why', (name, reason) => {
    const result = acr.normalise(fixtureRequest(name), SETTINGS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(reason)
  })

  it('ignores chart deletes and actions it does not know, naming them', () => {
    const deleted = pushWith((event) => (event.action = 'chart_delete'))
    expect(acr.normalise(deleted, SETTINGS).ignored).toBe('ACR chart_delete events are not pushes')
    const renamed = pushWith((event) => (event.action = 'rename'))
    expect(acr.normalise(renamed, SETTINGS).ignored).toBe('ACR rename events are not pushes')
    const odd = pushWith((event) => (event.action = 'push now'))
    expect(acr.normalise(odd, SETTINGS).ignored).toBe('ACR "push now" events are not pushes')
    // A name that every object inherits is an action like any other, not a reason found in a table.
    const inherited = pushWith((event) => (event.action = 'toString'))
    expect(acr.normalise(inherited, SETTINGS).ignored).toBe('ACR toString events are not pushes')
  })

  it('ignores a manifest pushed by digest, which ACR sends with an empty tag', () => {
    for (const tag of ['', undefined, null]) {
      const result = acr.normalise(
        pushWith((event) => (event.target.tag = tag)),
        SETTINGS,
      )
      expect(result).toMatchObject({
        pushes: [],
        ignored: 'manifest pushed by digest without a tag',
      })
    }
  })

  it('tells a ping, which has no id, by its bytes', () => {
    const result = acr.normalise(fixtureRequest('acr-ping.json'), SETTINGS)

    const hash = createHash('sha256').update(fixtureBytes('acr-ping.json')).digest('hex')
    expect(result.deliveryId).toBe(`sha256:${hash}`)
  })

  it.each([
    ['no action', {}, '/action'],
    ['an action that is not text', { action: 1 }, '/action'],
    [
      'a push without target',
      { action: 'push', request: { host: 'acmecr.azurecr.io' } },
      '/target',
    ],
    [
      'a push without the registry host',
      { action: 'push', target: { repository: 'acme/app', tag: 'v1' } },
      '/request/host',
    ],
    [
      'a push without repository',
      { action: 'push', target: { tag: 'v1' }, request: { host: 'acmecr.azurecr.io' } },
      '/target/repository',
    ],
    [
      'a repository in capitals',
      { action: 'push', target: { repository: 'Acme/App', tag: 'v1' }, request: { host: 'a.io' } },
      '/target/repository',
    ],
    [
      'a tag with a slash',
      {
        action: 'push',
        target: { repository: 'acme/app', tag: 'v1/x' },
        request: { host: 'a.io' },
      },
      '/target/tag',
    ],
    [
      'a host with a path',
      {
        action: 'push',
        target: { repository: 'acme/app', tag: 'v1' },
        request: { host: 'a.io/x' },
      },
      '/request/host',
    ],
    ['a target that is a list', { action: 'push', target: [] }, '/target'],
  ])('rejects %s', (_what, body, pointer) => {
    const error = thrownBy(() => acr.normalise(requestOf(body), SETTINGS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as SourcePayloadError).pointer).toBe(pointer)
    expect((error as Error).message).toMatch(
      /^expected an Azure Container Registry webhook event: /,
    )
  })

  describe('authenticate', () => {
    /** Before the body is read: the token is in a header. */
    const request = (headers: IncomingHttpHeaders) => ({ headers, pathSecret: null, rawBody: null })

    it('accepts the custom header "Authorization: Bearer <token>" before reading the body', () => {
      for (const authorization of [`Bearer ${SETTINGS.token}`, `bearer  ${SETTINGS.token}`]) {
        expect(acr.authenticate(request({ authorization }), SETTINGS)).toBe('authenticated')
      }
    })

    it.each([
      ['no header', {}, /no Authorization header.*custom header/],
      [
        'the header twice',
        { authorization: [`Bearer ${SETTINGS.token}`, `Bearer ${SETTINGS.token}`] },
        /more than one/,
      ],
      ['another token', { authorization: 'Bearer acr-webhook-token-00000' }, /sources\.acr\.token/],
      ['the bare token', { authorization: SETTINGS.token }, /"Bearer <token>"/],
      ['another scheme', { authorization: `Basic ${SETTINGS.token}` }, /"Bearer <token>"/],
      ['an empty token', { authorization: 'Bearer ' }, /"Bearer <token>"/],
    ])('refuses %s without showing the token', (_what, headers, message) => {
      const error = thrownBy(() =>
        acr.authenticate(request(headers as IncomingHttpHeaders), SETTINGS),
      )

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain(SETTINGS.token)
    })

    it('refuses everything when the configured token is empty', () => {
      const error = thrownBy(() =>
        acr.authenticate(request({ authorization: 'Bearer ' }), { token: '' }),
      )
      expect(error).toBeInstanceOf(SourceAuthError)
    })
  })

  it('is configured with sources.acr.token, a secret of 16 characters or more', () => {
    const config = (token: string) =>
      `public_url: https://relay.example.com\nsources:\n  acr: { token: "${token}" }\n`
    const settings = parseSettings(config('acr-token-0123456789'), { env: {}, baseDir: '.' })
    expect(settings.sources.acr).toEqual({ token: 'acr-token-0123456789' })
    expect(() => parseSettings(config('short'), { env: {}, baseDir: '.' })).toThrow(
      expect.objectContaining({
        problems: [expect.objectContaining({ path: 'sources.acr.token' })],
      }),
    )
  })
})
