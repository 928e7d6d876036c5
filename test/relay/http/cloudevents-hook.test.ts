import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

const HOOK = '/hooks/cloudevents'
const BEARER = { authorization: `Bearer ${SECRETS.cloudevents}` }
const STRUCTURED = { ...BEARER, 'content-type': 'application/cloudevents+json' }
const HEX = '4a1c5458f96aece7dda65d6aa7c9beea1f3120708afb896f67eb7ed0c3f7a540'

/** acme/app's releases, release candidates left out; and a chain that verifies signatures. */
const releases: Chain = {
  name: 'acme-release',
  match: { repository: 'acme/app', tags: ['v*', 'latest', '!*-rc*'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}
const verify: Chain = {
  name: 'verify-signature',
  match: { repository: 'acme/signed', tags: ['sha256-*.sig'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'dispatch', repository: 'acme/verify', eventType: 'signature-pushed' }],
}

let github: GitHubStandIn
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(async () => github.close())
afterEach(async () => t?.close())

async function start(overrides: Parameters<typeof testSettings>[1] = {}) {
  t = await startTestRelay(testSettings(github.url, { chains: [releases, verify], ...overrides }))
}

const zotHeaders = (): Record<string, string> => ({
  ...JSON.parse(fixture('cloudevents-zot-image-updated-binary.headers.json')),
  ...BEARER,
})

/** Zot's binary delivery of `acme/app:v1.2.0`, with its data and headers changed as asked. */
function zot(data: Record<string, unknown> = {}, headers: Record<string, string | undefined> = {}) {
  const body = { ...JSON.parse(fixture('cloudevents-zot-image-updated-binary.json')), ...data }
  const sent = Object.fromEntries(
    Object.entries({ ...zotHeaders(), ...headers }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>
  return t.post(HOOK, JSON.stringify(body), sent)
}

interface Accepted {
  event_id: string
  duplicate: boolean
  outcome: string
  reason: string | null
  runs: string[]
}

async function accepted(response: Response): Promise<Accepted> {
  expect(response.status, await response.clone().text()).toBe(202)
  return (await response.json()) as Accepted
}

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toContain('application/problem+json')
  return (await response.json()) as { type: string; detail: string; errors?: { pointer: string }[] }
}

const eventOf = (id: string) =>
  t.api<{ outcome: string; reason: string | null; payload: string }>(`/api/events/${id}`)

describe('POST /hooks/cloudevents', () => {
  it("starts a chain on Zot's binary delivery, and dispatches it with the configured registry", async () => {
    await start()
    const answer = await accepted(await zot())
    expect(answer).toMatchObject({ outcome: 'started', duplicate: false })
    expect(answer.runs).toHaveLength(1)

    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === answer.runs[0]),
    )
    expect(dispatch.repository).toBe('acme/integration-tests')
    expect(dispatch.clientPayload).toMatchObject({
      source: 'cloudevents',
      pushed_at: '2026-11-26T21:31:57.418Z',
      image: {
        registry: 'zot.acme.com:5000',
        repository: 'acme/app',
        tag: 'v1.2.0',
        digest: `sha256:${HEX}`,
        reference: 'zot.acme.com:5000/acme/app:v1.2.0',
      },
    })
  })

  it('takes the same event again, binary or structured, as a duplicate starting nothing', async () => {
    await start()
    const first = await accepted(await zot())
    const again = await accepted(await zot())
    const structured = await accepted(
      await t.post(HOOK, fixture('cloudevents-zot-image-updated.json'), STRUCTURED),
    )

    expect(again).toMatchObject({ duplicate: true, event_id: first.event_id })
    expect(structured).toMatchObject({ duplicate: true, event_id: first.event_id })
    const runs = await t.api<{ runs: unknown[] }>('/api/runs')
    expect(runs.runs).toHaveLength(1)
    // Another id from the same source is another event.
    const other = await accepted(await zot({}, { 'ce-id': 'another-id' }))
    expect(other.duplicate).toBe(false)
  })

  it("starts chains on Harbor's and Event Grid's structured deliveries", async () => {
    await start()
    const harbor = await accepted(
      await t.post(HOOK, fixture('cloudevents-harbor-push.json'), STRUCTURED),
    )
    const eventGrid = await accepted(
      await t.post(HOOK, fixture('cloudevents-eventgrid-acr-pushed.json'), {
        ...JSON.parse(fixture('cloudevents-eventgrid-acr-pushed.headers.json')),
        ...BEARER,
      }),
    )

    expect(harbor.outcome).toBe('started')
    expect(eventGrid.outcome).toBe('started')
    const run = await t.api<{ image: { reference: string } }>(`/api/runs/${eventGrid.runs[0]}`)
    expect(run.image.reference).toBe('acmecr.azurecr.io/acme/app:v1.2.0')
  })

  it('records deletions and other types as ignored, with the reason, and answers 202', async () => {
    await start()
    const deleted = await accepted(
      await t.post(HOOK, fixture('cloudevents-zot-image-deleted-binary.json'), {
        ...JSON.parse(fixture('cloudevents-zot-image-deleted-binary.headers.json')),
        ...BEARER,
      }),
    )
    const acrDeleted = await accepted(
      await t.post(HOOK, fixture('cloudevents-other-type.json'), STRUCTURED),
    )

    expect(deleted).toMatchObject({ outcome: 'ignored', runs: [] })
    expect((await eventOf(deleted.event_id)).reason).toMatch(
      /^CloudEvents of type zotregistry\.image\.deleted are not image pushes/,
    )
    expect(acrDeleted.reason).toMatch(/Microsoft\.ContainerRegistry\.ImageDeleted/)
  })

  it('records Zot events as ignored while sources.cloudevents.registry is unset', async () => {
    await start({ sources: { cloudevents: { token: SECRETS.cloudevents, registry: null } } })
    const answer = await accepted(await zot())

    expect(answer.outcome).toBe('ignored')
    expect(answer.reason).toContain('set sources.cloudevents.registry')
  })

  it('answers a wrong or missing token 401, recording nothing', async () => {
    await start()
    for (const authorization of ['Bearer wrong-token-0123456789', SECRETS.cloudevents, '']) {
      const body = await problem(await zot({}, { authorization }), 401)
      expect(body.detail).toContain('sources.cloudevents.token')
      expect(body.detail).not.toContain(SECRETS.cloudevents)
    }
    expect((await t.api<{ events: unknown[] }>('/api/events')).events).toEqual([])
  })

  it('answers what is not a CloudEvent push 422 with a pointer, and records it as rejected', async () => {
    await start()
    const noId = await problem(await zot({}, { 'ce-id': undefined }), 422)
    expect(noId.detail).toContain('ce-id is missing')
    const badName = await problem(await zot({ name: 'Acme/App' }), 422)
    expect(badName.errors?.[0]?.pointer).toBe('/name')
    const badVersion = await problem(
      await t.post(
        HOOK,
        { ...JSON.parse(fixture('cloudevents-zot-image-updated.json')), specversion: '0.3' },
        STRUCTURED,
      ),
      422,
    )
    expect(badVersion.errors?.[0]?.pointer).toBe('/specversion')

    const events = await t.api<{ events: { outcome: string }[] }>('/api/events')
    expect(events.events.map((e) => e.outcome)).toEqual(['rejected', 'rejected', 'rejected'])
  })

  it('answers a batch 415 saying batched mode is not taken, and records it', async () => {
    await start()
    const batch = `[${fixture('cloudevents-zot-image-updated.json')}]`
    const body = await problem(
      await t.post(HOOK, batch, {
        ...BEARER,
        'content-type': 'application/cloudevents-batch+json; charset=utf-8',
      }),
      415,
    )

    expect(body.detail).toContain('turn batching off')
    const events = await t.api<{ events: { outcome: string; reason: string }[] }>('/api/events')
    expect(events.events[0]).toMatchObject({ outcome: 'rejected' })
    expect(events.events[0]?.reason).toContain('Batched CloudEvents')
  })
})

describe('tag patterns and signature tags, through a relay', () => {
  it('leaves out the tags an exclusion names', async () => {
    await start()
    const candidate = await accepted(await zot({ reference: 'v1.3.0-rc1' }, { 'ce-id': 'rc' }))
    const latest = await accepted(await zot({ reference: 'latest' }, { 'ce-id': 'latest' }))

    expect(candidate).toMatchObject({ outcome: 'unmatched', runs: [] })
    expect(latest.outcome).toBe('started')
  })

  it('records a cosign signature tag as ignored, unless a chain names such tags', async () => {
    await start()
    const sig = `sha256-${HEX}.sig`
    const unsigned = await accepted(await zot({ reference: sig }, { 'ce-id': 'sig-app' }))
    expect(unsigned).toMatchObject({ outcome: 'ignored', runs: [] })
    expect(unsigned.reason).toBe(
      `zot.acme.com:5000/acme/app:${sig} only carries signatures, attestations or SBOMs: a chain starts on such tags only when its match.tags names them, like "sha256-*.sig"`,
    )

    const signed = await accepted(
      await zot({ name: 'acme/signed', reference: sig }, { 'ce-id': 'sig-signed' }),
    )
    expect(signed.outcome).toBe('started')
    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === signed.runs[0]),
    )
    expect(dispatch.repository).toBe('acme/verify')
  })
})

describe('the CloudEvents webhook validation handshake', () => {
  const handshake = (headers: Record<string, string>, path = HOOK) =>
    fetch(`${t.url}${path}`, { method: 'OPTIONS', headers })

  it("answers Event Grid's OPTIONS with the origin allowed, without a token", async () => {
    await start()
    const response = await handshake({
      'webhook-request-origin': 'eventgrid.azure.net',
      'webhook-request-callback':
        'https://rp-westeurope.eventgrid.azure.net/eventsubscriptions/x/validate?code=y',
      'webhook-request-rate': '120',
    })

    expect(response.status).toBe(200)
    expect(response.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net')
    expect(response.headers.get('webhook-allowed-rate')).toBe('*')
    expect(response.headers.get('allow')).toBe('OPTIONS, POST')
    expect(await response.text()).toBe('')
  })

  it.each([
    ['no origin', {}],
    ['an origin that is not a host name', { 'webhook-request-origin': 'https://evil.example/' }],
    ['an origin with a space', { 'webhook-request-origin': 'eventgrid .azure.net' }],
  ])('refuses a handshake with %s, allowing no origin', async (_what, headers) => {
    await start()
    const response = await handshake(headers)

    const body = await problem(response, 400)
    expect(body.type).toBe('urn:hookchain:problem:invalid-handshake')
    expect(body.detail).toContain('WebHook-Request-Origin')
    expect(response.headers.get('webhook-allowed-origin')).toBeNull()
  })

  it('answers 404 while the source is not enabled', async () => {
    await start({ sources: { dockerhub: { secret: SECRETS.dockerhub } } })
    const body = await problem(
      await handshake({ 'webhook-request-origin': 'eventgrid.azure.net' }),
      404,
    )

    expect(body.detail).toContain('sources.cloudevents')
  })

  it('keeps 405 and its Allow for every other source and method', async () => {
    await start()
    const cases: [string, string, string][] = [
      ['OPTIONS', '/hooks/harbor', 'POST'],
      ['OPTIONS', `/hooks/dockerhub/${SECRETS.dockerhub}`, 'POST'],
      ['OPTIONS', '/hooks/distribution', 'POST'],
      ['PUT', HOOK, 'OPTIONS, POST'],
      ['GET', HOOK, 'OPTIONS, POST'],
    ]
    for (const [method, path, allow] of cases) {
      const response = await fetch(`${t.url}${path}`, {
        method,
        headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
      })
      await problem(response, 405)
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow)
      expect(response.headers.get('webhook-allowed-origin')).toBeNull()
    }
  })
})
