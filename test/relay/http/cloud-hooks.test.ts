import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { type LoopbackServer, startLoopbackServer } from '../../support/loopback-server.js'
import { type LocalOidcIssuer, pubSubClaims, startOidcIssuer } from '../../support/oidc-issuer.js'
import { type CheckedAnswer, openApiChecker } from '../../support/openapi-check.js'
import {
  eventually,
  fixture,
  GAR_SUBSCRIPTION,
  garSettings,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

const checker = openApiChecker(fileURLToPath(new URL('../../../openapi.yaml', import.meta.url)))

/** Every tagged image of the three registries' samples. */
const cloud: Chain = {
  name: 'cloud',
  match: { repository: '**', tags: ['v*'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'image-pushed' }],
}

let github: GitHubStandIn
let issuer: LocalOidcIssuer
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
  issuer = await startOidcIssuer()
  const settings = testSettings(github.url, { chains: [cloud] })
  settings.sources.gar = garSettings(issuer.url)
  t = await startTestRelay(settings)
})
afterAll(async () => {
  await t.close()
  await issuer.close()
  await github.close()
})

interface Accepted {
  event_id: string
  duplicate: boolean
  outcome: string
  reason: string | null
  runs: string[]
}

/** POSTs a body to a hook of `relay` and holds the answer against openapi.yaml. */
async function post(
  path: string,
  body: string,
  headers: Record<string, string>,
  relay: TestRelay = t,
): Promise<CheckedAnswer> {
  const sent = { 'content-type': 'application/json', ...headers }
  const response = await fetch(`${relay.url}${path}`, { method: 'POST', headers: sent, body })
  return checker.check(
    { method: 'POST', url: `${relay.url}${path}`, headers: sent, body },
    response,
  )
}

const accepted = (answer: CheckedAnswer) => {
  expect(answer.status, answer.text).toBe(202)
  return answer.body as Accepted
}

const event = (id: string) =>
  t.api<{ outcome: string; reason: string | null; payload: string; pushes: unknown[] }>(
    `/api/events/${id}`,
  )

const run = (id: string) =>
  t.api<{ image: Record<string, unknown>; source: string }>(`/api/runs/${id}`)

async function eventCount(): Promise<number> {
  return (await t.api<{ events: unknown[] }>('/api/events?limit=100')).events.length
}

/** A refusal: problem+json of `status`, recording nothing. */
async function refused(answer: CheckedAnswer, status: number, before: number) {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get('content-type')).toContain('application/problem+json')
  expect(await eventCount()).toBe(before)
  return answer.body as { type: string; detail: string }
}

describe('POST /hooks/acr', () => {
  const token = { authorization: `Bearer ${SECRETS.acr}` }

  it('starts the chains of a push, and takes it again only once', async () => {
    const first = accepted(await post('/hooks/acr', fixture('acr-push.json'), token))
    expect(first).toMatchObject({
      outcome: 'started',
      duplicate: false,
      runs: [expect.any(String)],
    })
    expect((await run(first.runs[0] as string)).image).toMatchObject({
      registry: 'acmecr.azurecr.io',
      repository: 'acme/app',
      tag: 'v1.2.0',
      reference: 'acmecr.azurecr.io/acme/app:v1.2.0',
    })
    await eventually(() => github.dispatches.find((d) => d.clientPayload?.run_id === first.runs[0]))

    const again = accepted(await post('/hooks/acr', fixture('acr-push.json'), token))
    expect(again).toMatchObject({ duplicate: true, event_id: first.event_id, runs: first.runs })
    expect(github.dispatches.filter((d) => d.clientPayload?.run_id === first.runs[0])).toHaveLength(
      1,
    )
  })

  it('records a ping, a delete and a quarantine as ignored, with the reason', async () => {
    for (const [name, reason] of [
      ['acr-ping.json', 'ACR ping (the webhook test)'],
      ['acr-delete.json', 'ACR delete events are not pushes'],
      ['acr-quarantine.json', /^ACR quarantine events are not pushes/],
    ] as const) {
      const answer = accepted(await post('/hooks/acr', fixture(name), token))
      expect(answer).toMatchObject({ outcome: 'ignored', runs: [] })
      expect((await event(answer.event_id)).reason).toMatch(reason)
    }
  })

  it('refuses a wrong token with 401, recording nothing', async () => {
    const before = await eventCount()
    const body = await refused(
      await post('/hooks/acr', fixture('acr-push.json'), { authorization: 'Bearer nope' }),
      401,
      before,
    )
    expect(body.detail).toContain('sources.acr.token')
  })

  it('answers a body that is no ACR event with 422, recorded as rejected', async () => {
    const answer = await post('/hooks/acr', '{"target":{}}', token)
    expect(answer.status).toBe(422)
    expect(answer.body).toMatchObject({ errors: [{ pointer: '/action' }], source: 'acr' })
    const listed = await t.api<{ events: { outcome: string; source: string }[] }>(
      '/api/events?source=acr&outcome=rejected',
    )
    expect(listed.events.length).toBeGreaterThan(0)
  })
})

describe('POST /hooks/ecr', () => {
  const key = { authorization: `Bearer ${SECRETS.ecr}` }
  const eventBridge = JSON.parse(fixture('ecr-push.headers.json')) as Record<string, string>
  // fetch sets these itself.
  for (const name of ['connection', 'accept-encoding']) delete eventBridge[name]

  it('starts the chains of a push with the headers of an API destination', async () => {
    const first = accepted(
      await post('/hooks/ecr', fixture('ecr-push.json'), { ...eventBridge, ...key }),
    )
    expect(first.outcome).toBe('started')
    expect((await run(first.runs[0] as string)).image).toMatchObject({
      registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
      repository: 'acme/app',
      tag: 'v1.2.0',
    })
    const retried = accepted(await post('/hooks/ecr', fixture('ecr-push.json'), key))
    expect(retried).toMatchObject({ duplicate: true, runs: first.runs })
  })

  it('records deletes, failed pushes and other detail types as ignored', async () => {
    for (const name of ['ecr-delete.json', 'ecr-push-failed.json', 'ecr-image-scan.json']) {
      const answer = accepted(await post('/hooks/ecr', fixture(name), key))
      expect(answer).toMatchObject({ outcome: 'ignored', runs: [] })
      expect(answer.reason).toMatch(/not pushes|did not complete/)
    }
  })

  it('refuses a wrong API key with 401, recording nothing', async () => {
    const before = await eventCount()
    await refused(
      await post('/hooks/ecr', fixture('ecr-push.json'), { authorization: SECRETS.ecr }),
      401,
      before,
    )
  })

  it('answers an event without account with 422', async () => {
    const body = JSON.parse(fixture('ecr-push.json'))
    body.id = 'ecr-no-account'
    body.account = undefined
    const answer = await post('/hooks/ecr', JSON.stringify(body), key)
    expect(answer.status).toBe(422)
    expect(answer.body).toMatchObject({ errors: [{ pointer: '/account' }] })
  })

  it('answers at once while GitHub does not answer: nothing of it waits on the network', async () => {
    const silent: LoopbackServer = await startLoopbackServer(() => {})
    const stalled = await startTestRelay(testSettings(silent.url, { chains: [cloud] }))
    try {
      const body = JSON.parse(fixture('ecr-push.json'))
      for (let i = 0; i < 3; i++) {
        body.id = `ecr-stalled-github-${i}`
        const started = Date.now()
        const answer = accepted(await post('/hooks/ecr', JSON.stringify(body), key, stalled))
        expect(answer.outcome).toBe('started')
        // EventBridge gives up after 5 s; a commit takes milliseconds.
        expect(Date.now() - started).toBeLessThan(1000)
      }
    } finally {
      await silent.close()
      await stalled.close()
    }
  })
})

describe('POST /hooks/gar', () => {
  const bearer = async (audience = GAR_SUBSCRIPTION.audience) => ({
    authorization: `Bearer ${await issuer.sign(pubSubClaims(issuer, { ...GAR_SUBSCRIPTION, audience }))}`,
  })

  /** The sample envelope with other message data and id. */
  function message(id: string, data: string) {
    const body = JSON.parse(fixture('gar-insert.json'))
    body.message.messageId = id
    body.message.message_id = id
    body.message.data = Buffer.from(data).toString('base64')
    return JSON.stringify(body)
  }

  it('starts the chains of an INSERT with a tag, and takes a redelivered message only once', async () => {
    const first = accepted(await post('/hooks/gar', fixture('gar-insert.json'), await bearer()))
    expect(first.outcome).toBe('started')
    expect((await run(first.runs[0] as string)).image).toMatchObject({
      registry: 'us-east1-docker.pkg.dev',
      repository: 'acme-prod/containers/app',
      tag: 'v1.2.0',
      digest: 'sha256:a235dc568a4d644882d31b387258d4a7619e5b10f0b51eedb33e11436e49bb2b',
    })
    // Pub/Sub redelivers with the same messageId, and a token it may have minted since.
    const again = accepted(await post('/hooks/gar', fixture('gar-insert.json'), await bearer()))
    expect(again).toMatchObject({ duplicate: true, runs: first.runs })
  })

  it('records a DELETE, a push by digest and data that is no notification as ignored, with 202', async () => {
    const cases: [string, RegExp][] = [
      [fixture('gar-delete.json'), /DELETE notifications are not pushes/],
      [fixture('gar-insert-digest-only.json'), /pushed by digest without a tag/],
      [message('gar-garbage-1', 'not json at all'), /not JSON/],
      [message('gar-garbage-2', '{"action":"INSERT","tag":"app:v1"}'), /full image reference/],
    ]
    for (const [body, reason] of cases) {
      const answer = accepted(await post('/hooks/gar', body, await bearer()))
      expect(answer).toMatchObject({ outcome: 'ignored', runs: [] })
      const stored = await event(answer.event_id)
      expect(stored.reason).toMatch(reason)
      expect(stored.payload).toBe(body)
    }
  })

  it('answers a body that is no push envelope with 422, so that Pub/Sub keeps the message', async () => {
    const unwrapped = '{"action":"INSERT","tag":"us-east1-docker.pkg.dev/p/r/app:v1"}'
    const answer = await post('/hooks/gar', unwrapped, await bearer())
    expect(answer.status).toBe(422)
    expect(answer.body).toMatchObject({ errors: [{ pointer: '/message' }], source: 'gar' })
  })

  it('refuses a token for another audience with 401 saying what to set, recording nothing', async () => {
    const before = await eventCount()
    const body = await refused(
      await post(
        '/hooks/gar',
        fixture('gar-insert.json'),
        await bearer('https://elsewhere.example'),
      ),
      401,
      before,
    )
    expect(body.detail).toContain('--push-auth-token-audience')
  })

  it('answers 503 with Retry-After while the issuer is down, recording nothing', async () => {
    const gone = await startOidcIssuer()
    await gone.close()
    const settings = testSettings(github.url, { chains: [cloud] })
    settings.sources.gar = garSettings(gone.url)
    const cut = await startTestRelay(settings)
    try {
      const token = await gone.sign(pubSubClaims(gone, GAR_SUBSCRIPTION))
      const answer = await post(
        '/hooks/gar',
        fixture('gar-insert.json'),
        { authorization: `Bearer ${token}` },
        cut,
      )
      expect(answer.status, answer.text).toBe(503)
      expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/)
      expect(answer.body).toMatchObject({
        type: 'urn:hookchain:problem:identity-unavailable',
        detail: expect.stringContaining(`${gone.url}/.well-known/openid-configuration`),
      })
      expect((await cut.api<{ events: unknown[] }>('/api/events')).events).toEqual([])
    } finally {
      await cut.close()
    }
  })
})
