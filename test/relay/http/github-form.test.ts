import { createHmac, randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

const FORM = 'application/x-www-form-urlencoded'
const published = () => fixture('github-registry-package-published.json')

/** The body GitHub sends for a webhook whose content type is the form: `payload=<json>`. */
const asForm = (json: string) => new URLSearchParams({ payload: json }).toString()

/** Headers of a `registry_package` delivery of `body`, signed as GitHub signs it with `secret`. */
function fromGitHub(body: string, contentType: string, secret = SECRETS.github) {
  return {
    'content-type': contentType,
    'x-github-event': 'registry_package',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  }
}

interface EventJson {
  outcome: string
  content_type: string | null
  payload: string
  pushes: { pushed_at: string }[]
}

let github: GitHubStandIn
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(async () => github.close())

beforeEach(async () => {
  t = await startTestRelay(
    testSettings(github.url, {
      chains: [
        {
          name: 'ghcr',
          match: { repository: 'acme/app', tags: ['v*'] },
          stepTimeoutMs: 60_000,
          onFailure: [],
          notify: [],
          steps: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' }],
        },
      ],
    }),
  )
})
afterEach(async () => t.close())

const postToGitHub = (body: string, contentType: string, secret?: string) =>
  t.post('/hooks/github', body, fromGitHub(body, contentType, secret))

/** The latest event of the history, payload included. */
async function latestEvent(): Promise<EventJson> {
  const listed = await t.api<{ events: { id: string }[] }>('/api/events')
  return t.api<EventJson>(`/api/events/${listed.events[0]?.id}`)
}

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toContain('application/problem+json')
  return (await response.json()) as { type: string; detail: string; accepted?: string[] }
}

describe('a GitHub webhook with content type application/x-www-form-urlencoded', () => {
  /**
   * Delivers a push; resolves with its stored event and its dispatch, less what differs from one
   * delivery to the next (the fixture has no push time, so it is the time of receipt).
   */
  async function deliver(body: string, contentType: string) {
    const response = await postToGitHub(body, contentType)
    expect(response.status, await response.clone().text()).toBe(202)
    const accepted = (await response.json()) as { event_id: string; runs: string[] }
    expect(accepted.runs).toHaveLength(1)
    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === accepted.runs[0]),
    )
    const { callback_url, run_id, pushed_at, ...dispatched } = dispatch.clientPayload ?? {}
    const event = await t.api<EventJson>(`/api/events/${accepted.event_id}`)
    const pushes = event.pushes.map(({ pushed_at, ...push }) => push)
    return { event, pushes, dispatched }
  }

  it('starts the same run as the JSON delivery, and the history shows its JSON', async () => {
    const json = published()
    const fromJson = await deliver(json, 'application/json')
    const fromForm = await deliver(asForm(json), FORM)
    expect(fromForm.dispatched).toEqual(fromJson.dispatched)
    expect(fromForm.dispatched).toMatchObject({
      chain: 'ghcr',
      source: 'github',
      pusher: 'octo-dev',
      image: { reference: 'ghcr.io/acme/app:v1.2.0' },
    })
    expect(fromForm.pushes).toEqual(fromJson.pushes)
    expect(fromForm.pushes).toEqual([expect.objectContaining({ repository: 'acme/app' })])
    expect(fromForm.event).toMatchObject({ outcome: 'started', content_type: FORM, payload: json })
  })

  it('is answered 401 when signed with another secret, and nothing is recorded', async () => {
    const answer = await postToGitHub(asForm(published()), FORM, 'not-the-secret-0123456789')
    expect((await problem(answer, 401)).detail).toContain('X-Hub-Signature-256 does not match')
    expect((await t.api<{ events: unknown[] }>('/api/events')).events).toEqual([])
  })

  it('is answered 400 without its payload field, and kept as rejected, form and all', async () => {
    const form = `zen=${encodeURIComponent(published())}`
    const body = await problem(await postToGitHub(form, FORM), 400)
    expect(body.type).toBe('urn:hookchain:problem:malformed-form')
    expect(body.detail).toContain('payload=<URL-encoded JSON>')
    expect(await latestEvent()).toMatchObject({
      outcome: 'rejected',
      content_type: FORM,
      payload: form,
    })
  })

  it('is answered 400 when its payload field is not JSON', async () => {
    const body = await problem(await postToGitHub(asForm('{"action": "published", '), FORM), 400)
    expect(body.type).toBe('urn:hookchain:problem:malformed-json')
    expect(body.detail).toMatch(/^The payload field of the form is not valid JSON: /)
  })

  it('keeps the JSON, not the form encoding, of a delivery rejected with 422', async () => {
    const json = '{"action": "published", "registry_package": {"name": 5}}'
    await problem(await postToGitHub(asForm(json), FORM), 422)
    expect(await latestEvent()).toMatchObject({ outcome: 'rejected', payload: json })
  })

  it('is taken from GitHub alone: another source answers 415 and lists no form type', async () => {
    const form = asForm(JSON.stringify(JSON.parse(fixture('dockerhub-push.json'))))
    const dockerhub = await problem(
      await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, form, { 'content-type': FORM }),
      415,
    )
    expect(dockerhub.detail).toBe(
      `Content-Type ${FORM} is not accepted here; send application/json.`,
    )
    const github = await problem(await postToGitHub(published(), 'text/plain'), 415)
    expect(github.accepted).toEqual(['application/json', FORM])
    expect(github.detail).toContain(`send application/json or ${FORM}.`)
  })
})

describe('a captured GitHub delivery sent again', () => {
  // X-GitHub-Delivery is not signed: anyone who saw a delivery could send it again under a new one.
  it('under a new X-GitHub-Delivery is a duplicate, and starts nothing', async () => {
    const body = published()
    const first = await postToGitHub(body, 'application/json')
    expect(first.status).toBe(202)
    const started = (await first.json()) as { duplicate: boolean; runs: string[] }
    expect(started.duplicate).toBe(false)
    expect(started.runs).toHaveLength(1)

    const replayed = await postToGitHub(body, 'application/json')
    expect(replayed.status).toBe(202)
    expect(await replayed.json()).toMatchObject({ duplicate: true, runs: started.runs })
    const runs = await t.api<{ runs: unknown[] }>('/api/runs')
    expect(runs.runs).toHaveLength(1)
  })

  it('with one byte changed is refused, as its signature no longer matches', async () => {
    const body = published()
    const headers = fromGitHub(body, 'application/json')
    const response = await t.post('/hooks/github', body.replace('acme', 'acmf'), headers)
    expect((await problem(response, 401)).detail).toContain('X-Hub-Signature-256')
  })
})
