// biome-ignore-all lint/suspicious/noExplicitAny: each case changes some part of a fixture on purpose
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  type CloudEventsSettings,
  cloudEventDeliveryId,
  cloudevents,
} from '../../../src/relay/sources/cloudevents.js'
import { harbor } from '../../../src/relay/sources/harbor.js'
import {
  type AuthRequest,
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'
import { fixtureBytes, fixtureJson, RECEIVED_AT, requestOf, thrownBy } from './fixture-request.js'

const SETTINGS: CloudEventsSettings = {
  token: 'cloudevents-token-5e1f',
  registry: 'zot.acme.com:5000',
}
const WITHOUT_REGISTRY: CloudEventsSettings = { ...SETTINGS, registry: null }

const ZOT_ID = '2b6d3f1e-8c4a-4e7b-9d2f-6a1c5e8b3d70'
const ZOT_DIGEST = 'sha256:4a1c5458f96aece7dda65d6aa7c9beea1f3120708afb896f67eb7ed0c3f7a540'
const ACR_DIGEST = 'sha256:acb9803de19a3b59064399e82e4fd0b4726d140e5cb656a7fbfaf810aadd0b9b'
const ACR_SOURCE =
  '/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourceGroups/acme-registry/providers/Microsoft.ContainerRegistry/registries/acmecr'

const ZOT_PUSH: PushEvent = {
  source: 'cloudevents',
  registry: 'zot.acme.com:5000',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: ZOT_DIGEST,
  pusher: null,
  pushedAt: '2026-11-26T21:31:57.418Z',
  callbackUrl: null,
}

const EVENT_GRID_PUSH: PushEvent = {
  source: 'cloudevents',
  registry: 'acmecr.azurecr.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: ACR_DIGEST,
  pusher: null,
  pushedAt: '2026-11-26T21:31:57.276Z',
  callbackUrl: null,
}

function headersOf(name: string): IncomingHttpHeaders {
  return JSON.parse(fixtureBytes(name.replace(/\.json$/, '.headers.json')).toString('utf8'))
}

/** A fixture delivery: its exact bytes and its headers, changed as a test says. */
function delivery(name: string, headers: IncomingHttpHeaders = {}, body?: unknown) {
  return requestOf(body ?? fixtureBytes(name), { headers: { ...headersOf(name), ...headers } })
}

const ZOT_BINARY = 'cloudevents-zot-image-updated-binary.json'
const ZOT_STRUCTURED = 'cloudevents-zot-image-updated.json'
const EVENT_GRID = 'cloudevents-eventgrid-acr-pushed.json'

function zotStructured(change: (event: Record<string, unknown>) => void) {
  const event = fixtureJson(ZOT_STRUCTURED)
  change(event)
  return delivery(ZOT_STRUCTURED, {}, event)
}

function eventGrid(change: (data: Record<string, any>) => void) {
  const event = fixtureJson(EVENT_GRID)
  change(event.data as Record<string, unknown>)
  return delivery(EVENT_GRID, {}, event)
}

function payloadError(request: ReturnType<typeof delivery>, settings = SETTINGS) {
  const error = thrownBy(() => cloudevents.normalise(request, settings))
  expect(error).toBeInstanceOf(SourcePayloadError)
  return error as SourcePayloadError
}

describe('cloudevents source', () => {
  describe('Zot (binary mode, as Zot sends it)', () => {
    it('normalises zotregistry.image.updated into a push on the configured registry', () => {
      expect(cloudevents.normalise(delivery(ZOT_BINARY), SETTINGS)).toEqual({
        deliveryId: `zotregistry.dev ${ZOT_ID}`,
        pushes: [ZOT_PUSH],
        ignored: null,
      })
    })

    it('reads the same event sent structured, with the same delivery id', () => {
      expect(cloudevents.normalise(delivery(ZOT_STRUCTURED), SETTINGS)).toEqual({
        deliveryId: `zotregistry.dev ${ZOT_ID}`,
        pushes: [ZOT_PUSH],
        ignored: null,
      })
    })

    it('takes the pusher from actor.name, which newer Zot releases send', () => {
      const body = { ...fixtureJson(ZOT_BINARY), actor: { name: 'ci-pusher' } }
      const result = cloudevents.normalise(delivery(ZOT_BINARY, {}, body), SETTINGS)

      expect(result.pushes).toEqual([{ ...ZOT_PUSH, pusher: 'ci-pusher' }])
    })

    it('ignores Zot events while sources.cloudevents.registry is unset, saying to set it', () => {
      const result = cloudevents.normalise(delivery(ZOT_BINARY), WITHOUT_REGISTRY)

      expect(result.pushes).toEqual([])
      expect(result.ignored).toContain('set sources.cloudevents.registry')
      expect(result.deliveryId).toBe(`zotregistry.dev ${ZOT_ID}`)
    })

    it('ignores a manifest stored by digest alone', () => {
      const body = { ...fixtureJson(ZOT_BINARY), reference: ZOT_DIGEST }
      const result = cloudevents.normalise(delivery(ZOT_BINARY, {}, body), SETTINGS)

      expect(result).toMatchObject({ pushes: [], ignored: 'image pushed by digest without a tag' })
    })

    it('takes the time of receipt when the event has no time', () => {
      const result = cloudevents.normalise(delivery(ZOT_BINARY, { 'ce-time': undefined }), SETTINGS)

      expect(result.pushes[0]?.pushedAt).toBe(RECEIVED_AT.toISOString())
    })

    it('ignores the other Zot event types, naming them', () => {
      const result = cloudevents.normalise(
        delivery('cloudevents-zot-image-deleted-binary.json'),
        SETTINGS,
      )

      expect(result.pushes).toEqual([])
      expect(result.ignored).toBe(
        'CloudEvents of type zotregistry.image.deleted are not image pushes (the relay acts on zotregistry.image.updated, harbor.artifact.pushed, Microsoft.ContainerRegistry.ImagePushed)',
      )
      expect(result.deliveryId).toBe('zotregistry.dev 7e1a9c3b-2d4f-4a6e-8b0c-1d2e3f4a5b6c')
    })
  })

  describe('Harbor (structured mode, Harbor 2.8+ "CloudEvents" payload format)', () => {
    it('gives the pushes /hooks/harbor gives for the same bytes, as this source', () => {
      const result = cloudevents.normalise(delivery('cloudevents-harbor-push.json'), SETTINGS)
      const viaHarbor = harbor.normalise(delivery('cloudevents-harbor-push.json'), {
        token: 'x',
      })

      expect(result.pushes).toEqual(
        viaHarbor.pushes.map((push) => ({ ...push, source: 'cloudevents' })),
      )
      expect(result.pushes[0]).toMatchObject({
        registry: 'harbor.acme.example:8443',
        repository: 'acme/app',
        tag: 'v1.2.0',
        pusher: 'robot$acme+ci',
        pushedAt: '2026-11-26T21:31:57.000Z',
      })
      expect(result.deliveryId).toBe(
        '/projects/3/webhook/policies/7 4b2f89a6-548d-4c12-9993-a1f5790b97d2',
      )
    })

    it('ignores Harbor pulls and points at a push whose resources lack their URL', () => {
      const pulled = {
        ...fixtureJson('cloudevents-harbor-push.json'),
        type: 'harbor.artifact.pulled',
      }
      expect(
        cloudevents.normalise(delivery('cloudevents-harbor-push.json', {}, pulled), SETTINGS)
          .ignored,
      ).toMatch(/^CloudEvents of type harbor\.artifact\.pulled are not image pushes/)

      const broken = fixtureJson('cloudevents-harbor-push.json')
      ;(broken.data as any).resources[0].resource_url = undefined
      const error = payloadError(delivery('cloudevents-harbor-push.json', {}, broken))
      expect(error.pointer).toBe('/data/resources/0/resource_url')
    })
  })

  describe('Azure Event Grid (structured mode, CloudEvents schema v1.0)', () => {
    it('normalises Microsoft.ContainerRegistry.ImagePushed, with the host the push named', () => {
      expect(cloudevents.normalise(delivery(EVENT_GRID), SETTINGS)).toEqual({
        deliveryId: `${ACR_SOURCE} 831e1650-001e-001b-66ab-eeb76e069631`,
        pushes: [EVENT_GRID_PUSH],
        ignored: null,
      })
    })

    it('takes the registry from the event source when the data names no host', () => {
      const request = eventGrid((data) => {
        data.request = undefined
      })

      expect(cloudevents.normalise(request, SETTINGS).pushes).toEqual([EVENT_GRID_PUSH])
    })

    it('refuses a push with neither a host nor a registry in its source', () => {
      const event = fixtureJson(EVENT_GRID)
      event.source = '/subscriptions/x/resourceGroups/y'
      ;(event.data as any).request = {}

      expect(payloadError(delivery(EVENT_GRID, {}, event)).pointer).toBe('/data/request/host')
    })

    it('ignores a push by digest, deletions and other types', () => {
      expect(
        cloudevents.normalise(
          eventGrid((data) => {
            data.target.tag = undefined
          }),
          SETTINGS,
        ).ignored,
      ).toBe('image pushed by digest without a tag')
      expect(
        cloudevents.normalise(delivery('cloudevents-other-type.json'), SETTINGS).ignored,
      ).toMatch(
        /^CloudEvents of type Microsoft\.ContainerRegistry\.ImageDeleted are not image pushes/,
      )
    })

    it.each([
      [
        'a repository that is not one',
        (d: any) => (d.target.repository = 'Acme/App'),
        '/data/target/repository',
      ],
      ['a tag that is not one', (d: any) => (d.target.tag = '-v1'), '/data/target/tag'],
      [
        'a host that is not one',
        (d: any) => (d.request.host = 'https://acmecr.azurecr.io/'),
        '/data/request/host',
      ],
      ['no target', (d: any) => (d.target = undefined), '/data/target'],
    ])('refuses %s', (_what, change, pointer) => {
      expect(payloadError(eventGrid(change)).pointer).toBe(pointer)
    })
  })

  describe('the HTTP binding', () => {
    it('percent-decodes ce-* header values once, and unquotes quoted strings', () => {
      const result = cloudevents.normalise(
        delivery(ZOT_BINARY, { 'ce-source': 'zot%20registry%25', 'ce-id': '"a\\"b%E2%82%AC"' }),
        SETTINGS,
      )

      expect(result.deliveryId).toBe(cloudEventDeliveryId('zot registry%', 'a"b€'))
      expect(result.deliveryId).toBe('zot%20registry%25 a"b€')
    })

    it.each([
      ['an overlong UTF-8 sequence', '%C0%A0'],
      ['a lone percent sign', '100%'],
      ['a percent sign without hex digits', '%zz'],
      ['bytes that are not UTF-8', '%FF'],
      ['a control character', 'a%0Ab'],
    ])('refuses a ce-id header with %s', (_what, value) => {
      expect(payloadError(delivery(ZOT_BINARY, { 'ce-id': value })).message).toContain('ce-id')
    })

    it('says which ce-* headers are missing from a binary delivery', () => {
      const error = payloadError(
        delivery(ZOT_BINARY, { 'ce-id': undefined, 'ce-source': undefined }),
      )

      expect(error.message).toBe(
        'expected a CloudEvent: ce-id, ce-source are missing; in binary mode the headers ce-specversion, ce-id, ce-source and ce-type carry the event, or send it structured as application/cloudevents+json',
      )
    })

    it.each([
      [{ 'ce-specversion': '0.3' }, 'ce-specversion must be "1.0"'],
      [{ 'ce-id': '' }, 'ce-id must not be empty'],
      [{ 'ce-time': 'yesterday' }, 'ce-time must be an RFC 3339 time'],
      [{ 'ce-type': 'x'.repeat(257) }, 'ce-type must be at most 256 characters'],
    ])('refuses binary attributes %j in the terms of their headers', (headers, message) => {
      expect(payloadError(delivery(ZOT_BINARY, headers)).message).toContain(message)
    })

    it.each([
      ['no specversion', (e: any) => (e.specversion = undefined), '/specversion'],
      ['specversion 0.3', (e: any) => (e.specversion = '0.3'), '/specversion'],
      ['no id', (e: any) => (e.id = undefined), '/id'],
      ['an empty id', (e: any) => (e.id = ''), '/id'],
      ['no source', (e: any) => (e.source = undefined), '/source'],
      ['no type', (e: any) => (e.type = undefined), '/type'],
      ['a time that is not RFC 3339', (e: any) => (e.time = '26/11/2026'), '/time'],
      ['data that is not an object', (e: any) => (e.data = 'acme/app:v1'), '/data'],
      ['data without a name', (e: any) => (e.data.name = undefined), '/data/name'],
      ['a name that is no repository', (e: any) => (e.data.name = 'acme//app'), '/data/name'],
      ['a reference that is no tag', (e: any) => (e.data.reference = 'v 1'), '/data/reference'],
      ['both data and data_base64', (e: any) => (e.data_base64 = 'e30='), '/data_base64'],
    ])('refuses a structured event with %s, pointing at it', (_what, change, pointer) => {
      expect(payloadError(zotStructured(change)).pointer).toBe(pointer)
    })

    it('refuses a body that is not an object, and an id over 256 characters', () => {
      expect(payloadError(delivery(ZOT_STRUCTURED, {}, [1])).message).toMatch(
        /^expected a CloudEvent 1\.0 in the JSON format: \(body\) must be an object/,
      )
      expect(payloadError(zotStructured((e) => (e.id = 'i'.repeat(257)))).pointer).toBe('/id')
    })

    it('reads data_base64 holding JSON, and refuses it when it is not', () => {
      const encoded = (data: string) =>
        zotStructured((e) => {
          e.data_base64 = Buffer.from(data).toString('base64')
          e.data = undefined
        })
      const data = JSON.stringify(fixtureJson(ZOT_STRUCTURED).data)

      expect(cloudevents.normalise(encoded(data), SETTINGS).pushes).toEqual([ZOT_PUSH])
      expect(payloadError(encoded('not json')).pointer).toBe('/data_base64')
      const notBase64 = zotStructured((e) => {
        e.data_base64 = 'not base64!'
        e.data = undefined
      })
      expect(payloadError(notBase64).pointer).toBe('/data_base64')
    })

    it('points at the data of a binary event from the root of the body', () => {
      const body = { ...fixtureJson(ZOT_BINARY), name: 5 }

      expect(payloadError(delivery(ZOT_BINARY, {}, body)).pointer).toBe('/name')
    })

    it('refuses a batch, saying that batched mode is not taken', () => {
      const request = delivery(
        ZOT_STRUCTURED,
        {
          'content-type': 'application/cloudevents-batch+json; charset=utf-8',
        },
        [fixtureJson(ZOT_STRUCTURED)],
      )

      expect(payloadError(request).message).toContain('batched mode')
      expect(Object.keys(cloudevents.refusedContentTypes ?? {})).toEqual([
        'application/cloudevents-batch+json',
      ])
    })

    it('makes delivery ids of source and id that no other pair shares', () => {
      const pairs = [
        ['a b', 'c'],
        ['a', 'b c'],
        ['a%20b', 'c'],
        ['a', ' b c'],
      ]
      const ids = pairs.map(([source, id]) => cloudEventDeliveryId(source as string, id as string))

      expect(new Set(ids).size).toBe(pairs.length)
    })
  })

  describe('authenticate', () => {
    const auth = (authorization?: string | string[]): AuthRequest => ({
      // A header sent twice, should it arrive as a list.
      headers: authorization === undefined ? {} : ({ authorization } as IncomingHttpHeaders),
      pathSecret: null,
      rawBody: null,
    })

    it('accepts "Bearer <token>", the scheme in any case, before the body is read', () => {
      for (const header of [
        `Bearer ${SETTINGS.token}`,
        `BEARER ${SETTINGS.token}`,
        `bearer  ${SETTINGS.token}`,
      ]) {
        expect(cloudevents.authenticate(auth(header), SETTINGS)).toBe('authenticated')
      }
    })

    it.each([
      ['no Authorization header', undefined, 'has no Authorization header'],
      [
        'the header twice',
        [`Bearer ${SETTINGS.token}`, `Bearer ${SETTINGS.token}`],
        'has no Authorization header',
      ],
      ['the bare token', SETTINGS.token, 'is not "Bearer <token>"'],
      ['another token', 'Bearer cloudevents-token-5e1g', 'is not "Bearer <token>"'],
      ['the token and more', `Bearer ${SETTINGS.token}x`, 'is not "Bearer <token>"'],
      ['an empty bearer', 'Bearer ', 'is not "Bearer <token>"'],
      ['another scheme', `Token ${SETTINGS.token}`, 'is not "Bearer <token>"'],
      [
        'Basic credentials',
        `Basic ${Buffer.from(`zot:${SETTINGS.token}`).toString('base64')}`,
        'credentials.token',
      ],
    ])('refuses %s, saying what to fix without the token', (_what, header, message) => {
      const error = thrownBy(() => cloudevents.authenticate(auth(header), SETTINGS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain(message)
      expect((error as Error).message).toContain('sources.cloudevents.token')
      expect((error as Error).message).not.toContain(SETTINGS.token)
    })

    it('refuses everything when the configured token is empty', () => {
      expect(() => cloudevents.authenticate(auth('Bearer '), { ...SETTINGS, token: '' })).toThrow(
        SourceAuthError,
      )
    })
  })

  it('reads its config block, with registry optional', () => {
    expect(cloudevents.config.read({ token: SETTINGS.token })).toEqual(WITHOUT_REGISTRY)
    expect(
      cloudevents.config.read({ token: SETTINGS.token, registry: 'zot.acme.com:5000' }),
    ).toEqual(SETTINGS)
  })
})
