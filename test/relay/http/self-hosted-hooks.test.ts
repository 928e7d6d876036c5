// Artifactory, Nexus and Gitea/Forgejo deliveries through a real relay: their payloads name no
// registry host, so the config does, and each signs in its own way.
import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

const selfHosted: Chain = {
  name: 'self-hosted',
  match: { repository: '**/acme/app', tags: ['v*'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' }],
}

let github: GitHubStandIn
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url, { chains: [selfHosted] }))
})
afterAll(async () => {
  await t?.close()
  await github?.close()
})

interface Accepted {
  event_id: string
  duplicate: boolean
  outcome: string
  reason: string | null
  runs: string[]
}

interface Problem {
  type: string
  status: number
  detail: string
  errors?: { pointer: string }[]
}

const hmac = (algorithm: 'sha1' | 'sha256', secret: string, body: string) =>
  createHmac(algorithm, secret).update(body).digest('hex')

/** The headers a fixture was sent with, beside it as `<name>.headers.json`. */
const headersOf = (name: string): Record<string, string> =>
  JSON.parse(fixture(name.replace(/\.json$/, '.headers.json')))

const sent = {
  artifactory: (body: string, headers: Record<string, string> = {}) =>
    t.post('/hooks/artifactory', body, {
      'x-jfrog-event-auth': hmac('sha256', SECRETS.artifactory, body),
      ...headers,
    }),
  nexus: (body: string, headers: Record<string, string> = {}) =>
    t.post('/hooks/nexus', body, {
      ...headersOf('nexus-created.json'),
      'x-nexus-webhook-signature': hmac('sha1', SECRETS.nexus, body),
      ...headers,
    }),
  gitea: (body: string, headers: Record<string, string> = {}) =>
    t.post('/hooks/gitea', body, {
      ...headersOf('gitea-package-created.json'),
      'x-gitea-signature': hmac('sha256', SECRETS.gitea, body),
      ...headers,
    }),
}

async function accepted(response: Response): Promise<Accepted> {
  expect(response.status, await response.clone().text()).toBe(202)
  return (await response.json()) as Accepted
}

async function problem(response: Response, status: number): Promise<Problem> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toContain('application/problem+json')
  return (await response.json()) as Problem
}

/** The image the first step of a run was dispatched with. */
async function dispatchedImage(runId: string) {
  const dispatch = await eventually(() =>
    github.dispatches.find((d) => d.clientPayload?.run_id === runId),
  )
  return { image: dispatch.clientPayload?.image, payload: dispatch.clientPayload }
}

describe('artifactory through the relay', () => {
  it('starts a chain for a pushed tag, the image named by the repository path', async () => {
    const answer = await accepted(await sent.artifactory(fixture('artifactory-pushed.json')))

    expect(answer).toMatchObject({ outcome: 'started', duplicate: false })
    const { image, payload } = await dispatchedImage(answer.runs[0] as string)
    expect(image).toEqual({
      registry: 'acme.jfrog.io',
      repository: 'docker-local/acme/app',
      tag: 'v1.2.0',
      digest: 'sha256:4b4ff4087daa12db174466a9b5613cece04bc120abbbe0a2e51bfb0f62f5381c',
      reference: 'acme.jfrog.io/docker-local/acme/app:v1.2.0',
    })
    expect(payload?.source).toBe('artifactory')
  })

  it('takes the secret itself as X-JFrog-Event-Auth, as Artifactory sends it by default', async () => {
    const body = fixture('artifactory-pushed-list-manifest.json')

    const answer = await accepted(
      await sent.artifactory(body, { 'x-jfrog-event-auth': SECRETS.artifactory }),
    )

    expect(answer.outcome).toBe('started')
  })

  it('answers 401 problem+json for a wrong secret or signature, and records nothing', async () => {
    const before = (await t.api<{ events: unknown[] }>('/api/events?source=artifactory')).events
    const body = fixture('artifactory-pushed.json')
    for (const auth of ['not-the-secret-0123456789', hmac('sha256', 'another-secret', body)]) {
      const refused = await problem(
        await sent.artifactory(body, { 'x-jfrog-event-auth': auth }),
        401,
      )
      expect(refused.type).toBe('urn:hookchain:problem:unauthorized-source')
      expect(refused.detail).toContain('sources.artifactory.secret')
    }
    await problem(await t.post('/hooks/artifactory', body), 401)

    const after = (await t.api<{ events: unknown[] }>('/api/events?source=artifactory')).events
    expect(after).toHaveLength(before.length)
  })

  it('records a deleted tag and other domains as ignored, with the reason', async () => {
    const deleted = await accepted(await sent.artifactory(fixture('artifactory-deleted.json')))
    const deployed = await accepted(
      await sent.artifactory(fixture('artifactory-artifact-deployed.json')),
    )

    expect(deleted).toMatchObject({
      outcome: 'ignored',
      reason: 'Artifactory docker deleted events are not pushes',
      runs: [],
    })
    expect(deployed).toMatchObject({
      outcome: 'ignored',
      reason: 'Artifactory artifact events are not Docker pushes',
    })
  })

  it('answers a pushed event without a tag 422 with a pointer, and records it as rejected', async () => {
    const body = JSON.parse(fixture('artifactory-pushed.json'))
    body.data.tag = undefined

    const refused = await problem(await sent.artifactory(JSON.stringify(body)), 422)

    expect(refused.errors?.[0]?.pointer).toBe('/data/tag')
    const { events } = await t.api<{ events: { outcome: string; source: string }[] }>(
      '/api/events?source=artifactory&outcome=rejected',
    )
    expect(events.length).toBeGreaterThan(0)
  })
})

describe('nexus through the relay', () => {
  it('starts a chain for a docker component CREATED, the registry from the config', async () => {
    const answer = await accepted(await sent.nexus(fixture('nexus-created.json')))

    expect(answer.outcome).toBe('started')
    const { image, payload } = await dispatchedImage(answer.runs[0] as string)
    expect(image).toEqual({
      registry: 'nexus.acme.com:8443',
      repository: 'acme/app',
      tag: 'v1.2.0',
      digest: null,
      reference: 'nexus.acme.com:8443/acme/app:v1.2.0',
    })
    expect(payload).toMatchObject({ pusher: 'ci-pusher', pushed_at: '2026-11-26T21:31:57.219Z' })
  })

  it('answers a delivery sent again duplicate, even under a new delivery header', async () => {
    const body = fixture('nexus-updated.json')
    const first = await accepted(await sent.nexus(body))
    const again = await accepted(
      await sent.nexus(body, {
        'x-nexus-webhook-delivery': '99999999-8888-4777-8666-555555555555',
      }),
    )

    expect(first).toMatchObject({ outcome: 'started', duplicate: false })
    expect(again).toMatchObject({ duplicate: true, event_id: first.event_id, runs: first.runs })
    await dispatchedImage(first.runs[0] as string)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(
      github.dispatches.filter((d) => first.runs.includes(String(d.clientPayload?.run_id))),
    ).toHaveLength(1)
  })

  it('answers 401 for a signature over other bytes, or none', async () => {
    const body = fixture('nexus-created.json')
    const other = hmac('sha1', SECRETS.nexus, `${body} `)

    await problem(await sent.nexus(body, { 'x-nexus-webhook-signature': other }), 401)
    const unsigned = await problem(
      await t.post('/hooks/nexus', body, headersOf('nexus-created.json')),
      401,
    )
    expect(unsigned.detail).toContain('X-Nexus-Webhook-Signature')
  })

  it('records DELETED and other formats as ignored', async () => {
    const deleted = await accepted(await sent.nexus(fixture('nexus-deleted.json')))
    const maven = await accepted(await sent.nexus(fixture('nexus-created-maven.json')))

    expect(deleted).toMatchObject({
      outcome: 'ignored',
      reason: 'Nexus component DELETED events are not pushes',
    })
    expect(maven).toMatchObject({
      outcome: 'ignored',
      reason: 'Nexus maven2 components are not container images',
    })
  })

  it('answers a body that is not a component event 422, and records it as rejected', async () => {
    const refused = await problem(await sent.nexus('{"action":"CREATED"}'), 422)

    expect(refused.errors?.[0]?.pointer).toBe('/component')
    const { events } = await t.api<{ events: { reason: string }[] }>(
      '/api/events?source=nexus&outcome=rejected',
    )
    expect(events[0]?.reason).toContain('/component is required')
  })
})

describe('gitea and forgejo through the relay', () => {
  it("starts a chain for a tagged container package, the registry being Gitea's host", async () => {
    const answer = await accepted(await sent.gitea(fixture('gitea-package-created.json')))

    const { image, payload } = await dispatchedImage(answer.runs[0] as string)
    expect(image).toEqual({
      registry: 'gitea.acme.com',
      repository: 'acme/app',
      tag: 'v1.2.0',
      digest: null,
      reference: 'gitea.acme.com/acme/app:v1.2.0',
    })
    expect(payload).toMatchObject({ pusher: 'ci-pusher', source: 'gitea' })
  })

  it("takes Forgejo's delivery with its own signature header", async () => {
    const body = fixture('forgejo-package-created.json')
    const response = await t.post('/hooks/gitea', body, {
      ...headersOf('forgejo-package-created.json'),
      'x-forgejo-signature': hmac('sha256', SECRETS.gitea, body),
      'x-gitea-signature': hmac('sha256', SECRETS.gitea, body),
    })

    expect((await accepted(response)).outcome).toBe('started')
  })

  it('answers a replay from the Gitea UI (same bytes, new delivery id) as a duplicate', async () => {
    const body = fixture('gitea-package-created.json').replace('"id": 42', '"id": 142')
    const first = await accepted(await sent.gitea(body))
    const replay = await accepted(
      await sent.gitea(body, { 'x-gitea-delivery': '0f0f0f0f-1111-4222-8333-444444444444' }),
    )

    expect(replay).toMatchObject({ duplicate: true, event_id: first.event_id, runs: first.runs })
  })

  it('records the platform manifests of a multi-arch push, deletes and npm packages as ignored', async () => {
    const reasons: Record<string, string> = {
      'gitea-package-created-digest.json':
        'untagged manifest (Gitea sends one per platform of a multi-arch image)',
      'gitea-package-deleted.json': 'Gitea package deleted events are not pushes',
      'gitea-package-npm.json': 'npm packages are not container images',
    }
    for (const [name, reason] of Object.entries(reasons)) {
      const answer = await accepted(await sent.gitea(fixture(name), headersOf(name)))
      expect(answer, name).toMatchObject({ outcome: 'ignored', reason, runs: [] })
    }
    const event = await t.api<{ outcome: string; payload: string }>(
      `/api/events/${(await accepted(await sent.gitea('{"zen":"hi"}', { 'x-gitea-event': 'push' }))).event_id}`,
    )
    expect(event.outcome).toBe('ignored')
  })

  it('answers 401 for an unsigned webhook, naming what to set', async () => {
    const body = fixture('gitea-package-created.json')

    const refused = await problem(await sent.gitea(body, { 'x-gitea-signature': '' }), 401)

    expect(refused.detail).toContain('the webhook has no Secret')
  })

  it('answers a package event of the wrong shape 422 with a pointer', async () => {
    const body = JSON.parse(fixture('gitea-package-created.json'))
    body.package.version = 'v1 beta'

    const refused = await problem(await sent.gitea(JSON.stringify(body)), 422)

    expect(refused.errors?.[0]?.pointer).toBe('/package/version')
  })
})
