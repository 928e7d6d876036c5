import { createHmac, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { createApp } from '../../../src/relay/http/app.js'
import { PROBLEM_TYPE_NAMES } from '../../../src/relay/http/problem.js'
import { createMetrics } from '../../../src/relay/metrics.js'
import { WORKFLOW_SOURCE } from '../../../src/relay/model/event.js'
import { SOURCE_NAMES } from '../../../src/relay/sources/index.js'
import { callbackSchema, validateCallback } from '../../../src/shared/callback.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'
import {
  epoch,
  githubJobClaims,
  type LocalOidcIssuer,
  pubSubClaims,
  startOidcIssuer,
} from '../../support/oidc-issuer.js'
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
  twoSteps,
} from '../relay-harness.js'

const spec = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url))
const checker = openApiChecker(spec)
const onPostgres = process.env.HOOKCHAIN_TEST_DATABASE === 'postgres'

let github: GitHubStandIn
let receiver: HttpReceiver
let issuer: LocalOidcIssuer
let t: TestRelay

/** Runs of acme/app v1.2.0 (Quay, Harbor, GitHub) start with a webhook step, then a dispatch. */
const webhookFirst = (url: string): Chain => ({
  name: 'publish',
  match: { repository: 'acme/app', tags: ['v1.2.0'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'webhook', url: `${url}/hook`, secret: 'webhook-secret-0123456789' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
})

/** Pushes of acme/gated: a group of two tests, an approval, a deploy; a rollback on failure. */
const gated = (url: string): Chain => ({
  name: 'gated',
  match: { repository: 'acme/gated', tags: null },
  stepTimeoutMs: 60_000,
  steps: [
    {
      kind: 'parallel',
      require: 'all',
      branches: [
        { kind: 'dispatch', repository: 'acme/api-tests', eventType: 'image-pushed' },
        { kind: 'dispatch', repository: 'acme/ui-tests', eventType: 'image-pushed' },
      ],
    },
    { kind: 'approval', timeoutMs: 3_600_000 },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
  onFailure: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' }],
  notify: [
    {
      kind: 'webhook',
      url: `${url}/notify`,
      secret: null,
      on: ['approval', 'failure', 'cancelled'],
    },
  ],
})

/** Started by the workflows of acme/app, with their job's OIDC token. */
const startable: Chain = {
  name: 'from-workflow',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  start: { repositories: ['acme/app'] },
  steps: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' }],
}

beforeAll(async () => {
  github = await startGitHubStandIn()
  receiver = await startHttpReceiver()
  issuer = await startOidcIssuer()
  const settings = testSettings(github.url, {
    chains: [twoSteps, webhookFirst(receiver.url), gated(receiver.url), startable],
    registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true },
  })
  settings.sources.gar = garSettings(issuer.url)
  settings.github.oidc = { issuer: issuer.url, audience: 'hookchain' }
  t = await startTestRelay(settings)
})
afterAll(async () => {
  await t.close()
  await issuer.close()
  await receiver.close()
  await github.close()
})

const admin = { authorization: `Bearer ${SECRETS.admin}` }
const basicAdmin = {
  authorization: `Basic ${Buffer.from(`admin:${SECRETS.admin}`).toString('base64')}`,
}
/** Callback tokens handed out so far: no answer of the relay may show one. */
const tokens = new Set<string>()
const NO_RUN = '0193b0c0-0000-7000-8000-000000000000'

interface Sent {
  body?: string | Buffer
  headers?: Record<string, string>
}

/** Sends a request to the relay and holds the answer (and the request) against openapi.yaml. */
async function call(method: string, path: string, init: Sent = {}): Promise<CheckedAnswer> {
  const url = path.startsWith('http') ? path : `${t.url}${path}`
  const headers = init.headers ?? {}
  const response = await fetch(url, { method, headers, body: init.body, redirect: 'manual' })
  const body = typeof init.body === 'string' ? init.body : undefined
  const answer = await checker.check({ method, url, headers, body }, response)
  for (const secret of [...Object.values(SECRETS), ...tokens])
    expect(answer.text, `${method} ${path} shows a secret`).not.toContain(secret)
  return answer
}

const json = (body: unknown, headers: Record<string, string> = {}): Sent => ({
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

/** X-Hub-Signature-256 of a body, as GitHub signs it with the webhook secret. */
const signature = (body: string) =>
  `sha256=${createHmac('sha256', SECRETS.github).update(body).digest('hex')}`

function dockerHubPush(tag: string, callbackUrl?: string): string {
  const body = JSON.parse(fixture('dockerhub-push.json'))
  body.push_data.tag = tag
  if (callbackUrl) body.callback_url = callbackUrl
  return JSON.stringify(body)
}

async function pushed(answer: CheckedAnswer): Promise<string> {
  expect(answer.status).toBe(202)
  const runs = (answer.body as { runs: string[] }).runs
  expect(runs).toHaveLength(1)
  return runs[0] as string
}

/** The callback path of a step's latest dispatch to the GitHub stand-in. */
async function dispatched(runId: string, step: number | string, count = 1): Promise<string> {
  const found = await eventually(() => {
    const mine = github.dispatches.filter(
      (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
    )
    return mine.length >= count ? mine : undefined
  })
  return remember(String(found.at(-1)?.clientPayload?.callback_url))
}

/** The callback path of a run's latest webhook delivery. */
async function webhooked(runId: string, count = 1): Promise<string> {
  const found = await eventually(() => {
    const mine = receiver.requests.filter(
      (r) => (r.body as { hookchain?: { run_id?: string } })?.hookchain?.run_id === runId,
    )
    return mine.length >= count ? mine : undefined
  })
  const payload = found.at(-1)?.body as { callback_url?: string } | undefined
  return remember(String(payload?.callback_url))
}

function remember(callbackUrl: string): string {
  const path = new URL(callbackUrl).pathname
  tokens.add(path.split('/').at(-1) as string)
  return path
}

const run = async (id: string) =>
  (await call('GET', `/api/runs/${id}`, { headers: admin })).body as {
    state: string
    steps: { state: string; generation: number; callbacks: unknown[]; attempts: unknown[] }[]
    registry_callback: {
      state: string
      detail: string
      attempts: { status: number | null; request: unknown; error: string | null }[]
    } | null
  }

describe('every answer of the relay keeps to openapi.yaml', () => {
  it('through a Docker Hub push, its steps reporting, a retry and the registry told', async () => {
    const registry = `${receiver.url}/registry/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/`
    const push = dockerHubPush('latest', registry)
    const runId = await pushed(
      await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(push)),
    )
    const again = await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(push))
    expect(again.body).toMatchObject({ duplicate: true, runs: [runId] })

    const first = await dispatched(runId, 1)
    const progress = { state: 'pending', target_url: 'https://ci.example.com/runs/1' }
    expect((await call('POST', first, json(progress))).status).toBe(200)
    const passed = await call(
      'POST',
      first,
      json({ state: 'success', description: '387 tests PASSED', context: 'Acme CI' }),
    )
    expect(passed.body).toMatchObject({
      run: { state: 'running' },
      step: { state: 'success' },
      run_url: `http://relay.test/runs/${runId}`,
    })

    const second = await dispatched(runId, 2)
    const failed = await call('POST', second, json({ state: 'failure', description: 'no' }))
    expect(failed.body).toMatchObject({ run: { state: 'failure' } })
    expect((await call('POST', second, json({ state: 'success' }))).status).toBe(409)

    // The registry hears how the run ended; the history shows every attempt and callback.
    await receiver.waitForRequests(1)
    const ended = await eventually(async () => {
      const r = await run(runId)
      return r.registry_callback?.attempts.length ? r : undefined
    })
    expect(ended.registry_callback).toMatchObject({
      state: 'sent',
      detail: expect.stringMatching(/^Sent to 127\.0\.0\.1:\d+, which answered HTTP 2\d\d\.$/),
    })
    expect(ended.steps[0]?.callbacks).toHaveLength(2)
    expect(ended.steps[1]?.attempts.length).toBeGreaterThan(0)

    const retried = await call('POST', `/api/runs/${runId}/retry`, { headers: admin })
    expect(retried.status).toBe(202)
    expect(retried.body).toMatchObject({ state: 'running' })
    expect((await call('POST', `/api/runs/${runId}/retry`, { headers: admin })).status).toBe(409)
    expect((await call('POST', second, json({ state: 'success' }))).status).toBe(404)
    const resent = await dispatched(runId, 2, 2)
    const done = await call('POST', resent, json({ state: 'success' }))
    expect(done.body).toMatchObject({ run: { state: 'success' }, step: { generation: 2 } })
    expect((await call('POST', `/api/runs/${NO_RUN}/retry`, { headers: admin })).status).toBe(404)
  })

  it('through a registry callback that registry_callbacks does not allow', async () => {
    const elsewhere =
      'https://registry.elsewhere.example/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/'
    const runId = await pushed(
      await call(
        'POST',
        `/hooks/dockerhub/${SECRETS.dockerhub}`,
        json(dockerHubPush('v7', elsewhere)),
      ),
    )
    const going = await run(runId)
    expect(going.registry_callback).toEqual({
      state: 'refused',
      detail:
        'Will not be sent: callback host registry.elsewhere.example is not in registry_callbacks.allowed_hosts.',
      attempts: [],
    })
    const first = await dispatched(runId, 1)
    await call('POST', first, json({ state: 'failure' }))
    const ended = await eventually(async () => {
      const r = await run(runId)
      return r.registry_callback?.attempts.length ? r : undefined
    })
    expect(ended.registry_callback).toMatchObject({
      state: 'refused',
      detail:
        'Not sent: callback host registry.elsewhere.example is not in registry_callbacks.allowed_hosts.',
      attempts: [{ request: null, status: null }],
    })
  })

  it('through a parallel group, an approval, a rejection, a rollback and a cancel', async () => {
    const push = (tag: string) =>
      call(
        'POST',
        `/hooks/quay/${SECRETS.quay}`,
        json({ repository: 'acme/gated', docker_url: 'quay.io/acme/gated', updated_tags: [tag] }),
      )
    const decide = (id: string, step: number | string, verb: string, body?: unknown) =>
      call(
        'POST',
        `/api/runs/${id}/steps/${step}/${verb}`,
        body === undefined ? { headers: admin } : json(body, admin),
      )
    const branches = async (id: string, states: [string, string]) => {
      for (const [i, state] of states.entries()) {
        const url = await dispatched(id, `1.${i + 1}`)
        expect((await call('POST', url, json({ state }))).status).toBe(200)
      }
    }

    // Approved: both branches pass, a person approves, the deploy runs.
    const approvedRun = await pushed(await push('v1'))
    await branches(approvedRun, ['success', 'success'])
    expect((await decide(approvedRun, 1, 'approve')).status).toBe(404)
    const approved = await decide(approvedRun, 2, 'approve', { comment: 'ship it' })
    expect(approved.status).toBe(200)
    expect(approved.body).toMatchObject({
      steps: [
        { state: 'success' },
        { state: 'success', decision: { approved: true, comment: 'ship it' } },
        { state: 'dispatching' },
      ],
    })
    expect((await decide(approvedRun, 2, 'reject')).status).toBe(409)
    expect((await decide(approvedRun, 'x', 'approve')).status).toBe(404)
    expect((await decide(approvedRun, 2, 'approve', { comment: 7 })).status).toBe(422)
    const deploy = await dispatched(approvedRun, 3)
    expect((await call('POST', deploy, json({ state: 'success' }))).body).toMatchObject({
      run: { state: 'success' },
    })

    // A branch fails: the other is cancelled, the run fails, the rollback learns the last good image.
    const failedRun = await pushed(await push('v2'))
    const first = await dispatched(failedRun, '1.1')
    const second = await dispatched(failedRun, '1.2')
    expect(
      (await call('POST', first, json({ state: 'failure', description: 'api broke' }))).status,
    ).toBe(200)
    expect((await call('POST', second, json({ state: 'success' }))).status).toBe(409)
    const rollback = await eventually(() =>
      github.dispatches.find(
        (d) => d.clientPayload?.run_id === failedRun && d.clientPayload?.step === 'on_failure.1',
      ),
    )
    expect(rollback.clientPayload).toMatchObject({
      image: { tag: 'v2', previous: { reference: 'quay.io/acme/gated:v1' } },
      attempt: 1,
    })
    remember(String(rollback.clientPayload?.callback_url))
    const failed = (await call('GET', `/api/runs/${failedRun}`, { headers: admin })).body
    expect(failed).toMatchObject({
      state: 'failure',
      steps: [
        { state: 'failure', branches: [{ state: 'failure' }, { state: 'cancelled' }] },
        { state: 'skipped' },
        { state: 'skipped' },
      ],
      on_failure: { state: 'running' },
    })

    // Rejected: the run fails.
    const rejectedRun = await pushed(await push('v3'))
    await branches(rejectedRun, ['success', 'success'])
    const rejected = await decide(rejectedRun, 2, 'reject', { comment: 'not today' })
    expect(rejected.body).toMatchObject({ state: 'failure' })

    // Cancelled mid-run: running branches end as cancelled, nothing more goes out.
    const cancelledRun = await pushed(await push('v4'))
    await dispatched(cancelledRun, '1.2')
    const cancelled = await call('POST', `/api/runs/${cancelledRun}/cancel`, { headers: admin })
    expect(cancelled.body).toMatchObject({
      state: 'cancelled',
      steps: [{ state: 'cancelled' }, { state: 'skipped' }, { state: 'skipped' }],
    })
    expect(
      (await call('POST', `/api/runs/${cancelledRun}/cancel`, { headers: admin })).status,
    ).toBe(409)
    expect((await call('POST', `/api/runs/${NO_RUN}/cancel`, { headers: admin })).status).toBe(404)

    // A retry of the rejected run is its attempt 2; attempt 1 stays as it ended.
    const retried = await call('POST', `/api/runs/${rejectedRun}/retry`, { headers: admin })
    expect(retried.body).toMatchObject({
      attempt: 2,
      earlier_attempts: [{ attempt: 1, state: 'failure' }],
    })
    await eventually(async () => {
      const notified = receiver.requests.filter((r) => r.path === '/notify')
      return notified.length >= 5 ? notified : undefined
    })
  })

  it('through the buttons of a run page: approve, reject and cancel', async () => {
    const push = async (tag: string) =>
      pushed(
        await call(
          'POST',
          `/hooks/quay/${SECRETS.quay}`,
          json({ repository: 'acme/gated', docker_url: 'quay.io/acme/gated', updated_tags: [tag] }),
        ),
      )
    const form = (body: string) => ({
      body,
      headers: {
        ...basicAdmin,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
      },
    })
    const waiting = async (tag: string) => {
      const id = await push(tag)
      for (const branch of ['1.1', '1.2']) {
        const url = await dispatched(id, branch)
        expect((await call('POST', url, json({ state: 'success' }))).status).toBe(200)
      }
      return id
    }

    const approvedRun = await waiting('p1')
    const approved = await call(
      'POST',
      `/runs/${approvedRun}/steps/2/approve`,
      form('comment=looks+good'),
    )
    expect(approved.status).toBe(303)
    expect(approved.headers.get('location')).toBe(`/runs/${approvedRun}`)
    expect((await run(approvedRun)).steps[1]).toMatchObject({
      state: 'success',
      decision: { by: 'admin', comment: 'looks good' },
    })
    const again = await call('POST', `/runs/${approvedRun}/steps/2/approve`, form(''))
    expect(again.status).toBe(409)
    const long = await call(
      'POST',
      `/runs/${approvedRun}/steps/2/reject`,
      form(`comment=${'x'.repeat(1001)}`),
    )
    expect(long.status).toBe(422)

    const rejectedRun = await waiting('p2')
    expect((await call('POST', `/runs/${rejectedRun}/steps/2/reject`, form(''))).status).toBe(303)
    expect((await run(rejectedRun)).state).toBe('failure')

    const cancelledRun = await push('p3')
    expect((await call('POST', `/runs/${cancelledRun}/cancel`, form(''))).status).toBe(303)
    expect((await run(cancelledRun)).state).toBe('cancelled')
    expect((await call('POST', `/runs/${cancelledRun}/cancel`, form(''))).status).toBe(409)
    expect((await call('POST', `/runs/${NO_RUN}/cancel`, form(''))).status).toBe(404)
    expect((await call('POST', `/runs/${NO_RUN}/steps/2/approve`, form(''))).status).toBe(404)
    const crossSite = await call('POST', `/runs/${rejectedRun}/steps/2/reject`, {
      headers: { ...basicAdmin, 'sec-fetch-site': 'cross-site' },
    })
    expect(crossSite.status).toBe(403)
    const crossCancel = await call('POST', `/runs/${cancelledRun}/cancel`, {
      headers: { ...basicAdmin, 'sec-fetch-site': 'cross-site' },
    })
    expect(crossCancel.status).toBe(403)
    const crossApprove = await call('POST', `/runs/${approvedRun}/steps/2/approve`, {
      headers: { ...basicAdmin, 'sec-fetch-site': 'cross-site' },
    })
    expect(crossApprove.status).toBe(403)
  })

  it('through the buttons of an event page and of the chains page', async () => {
    const fromPage = { headers: { ...basicAdmin, 'sec-fetch-site': 'same-origin' } }
    const crossSite = { headers: { ...basicAdmin, 'sec-fetch-site': 'cross-site' } }
    const chainsPage = await call('GET', '/chains', { headers: basicAdmin })
    expect(chainsPage.status).toBe(200)
    expect(chainsPage.text).toContain('action="/chains/gated/test"')
    expect((await call('GET', '/chains?all=1', { headers: basicAdmin })).status).toBe(400)

    const tested = await call('POST', '/chains/gated/test', fromPage)
    expect(tested.status).toBe(303)
    const testRun = String(tested.headers.get('location')).replace('/runs/', '')
    const started = await run(testRun)
    expect(started).toMatchObject({
      chain: 'gated',
      source: 'test',
      image: { registry: 'registry.hookchain.test', repository: 'acme/gated' },
      pusher: 'admin',
    })
    const sent = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === testRun),
    )
    expect(sent.clientPayload).toMatchObject({ source: 'test', chain: 'gated' })
    remember(String(sent.clientPayload?.callback_url))
    const tests = await call('GET', '/api/events?source=test', { headers: admin })
    expect((tests.body as { events: { runs: string[] }[] }).events[0]?.runs).toEqual([testRun])
    expect((await call('POST', '/chains/gated/test', crossSite)).status).toBe(403)
    const unknown = await call('POST', '/chains/nope/test', fromPage)
    expect(unknown.status).toBe(404)
    expect(unknown.text).toContain('There is no chain nope in the config')

    const eventId = ((await run(testRun)) as unknown as { event_id: string }).event_id
    const again = await call('POST', `/events/${eventId}/redeliver`, fromPage)
    expect(again.status).toBe(303)
    expect(again.headers.get('location')).toBe(`/events/${eventId}`)
    const redelivered = await call('GET', `/api/events/${eventId}`, { headers: admin })
    expect((redelivered.body as { runs: string[] }).runs).toHaveLength(2)
    for (const id of (redelivered.body as { runs: string[] }).runs) {
      const d = await eventually(() =>
        github.dispatches.find((x) => x.clientPayload?.run_id === id),
      )
      remember(String(d.clientPayload?.callback_url))
    }
    expect((await call('POST', `/events/${eventId}/redeliver`, crossSite)).status).toBe(403)
    expect((await call('POST', `/events/${NO_RUN}/redeliver`, fromPage)).status).toBe(404)
    const blob = await call('POST', '/hooks/distribution', {
      body: fixture('distribution-blob-push.json').replace(
        /"id": *"[^"]+"/,
        `"id": "${randomUUID()}"`,
      ),
      headers: {
        authorization: `Bearer ${SECRETS.distribution}`,
        'content-type': 'application/vnd.docker.distribution.events.v1+json',
      },
    })
    const ignored = (blob.body as { event_id: string }).event_id
    const nothing = await call('POST', `/events/${ignored}/redeliver`, fromPage)
    expect(nothing.status).toBe(409)
    expect(nothing.text).toContain(`<a href="/events/${ignored}">← Back to the event</a>`)
  })

  it('through the mistakes a step can make in its callback', async () => {
    const runId = await pushed(
      await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(dockerHubPush('v2'))),
    )
    const url = await dispatched(runId, 1)
    const refused = async (body: Sent, status: number, type: string) => {
      const answer = await call('POST', url, body)
      expect(answer.status, answer.text).toBe(status)
      expect(answer.body).toMatchObject({ type: `urn:hookchain:problem:${type}` })
      return answer.body as { errors?: { pointer: string }[] }
    }
    expect((await refused(json({ state: 'done' }), 422, 'invalid-callback')).errors).toEqual([
      expect.objectContaining({ pointer: '/state' }),
    ])
    await refused(json({ state: 'success', status: 'ok' }), 422, 'invalid-callback')
    await refused(json({ state: 'success', description: 'x'.repeat(256) }), 422, 'invalid-callback')
    await refused(
      json({ state: 'success', target_url: 'ftp://ci.example.com' }),
      422,
      'invalid-callback',
    )
    await refused(
      { body: 'state=success', headers: { 'content-type': 'text/plain' } },
      415,
      'unsupported-media-type',
    )
    await refused(json('{"state":'), 400, 'malformed-json')
    await refused({ headers: { 'content-type': 'application/json' } }, 400, 'empty-body')
    await refused(
      json({ state: 'success', description: 'x'.repeat(1024 * 1024) }),
      413,
      'body-too-large',
    )
    const unknown = await call('POST', `/callbacks/${'A'.repeat(43)}`, json({ state: 'success' }))
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ instance: '/callbacks/%E2%80%A6' })
    // null is taken as absent, as the shared schema says.
    const report = { state: 'pending', description: null, context: null, target_url: null }
    expect((await call('POST', url, json(report))).status).toBe(200)
  })

  it('through a webhook step that errs and is retried from the run page', async () => {
    const runId = await pushed(
      await call('POST', `/hooks/quay/${SECRETS.quay}`, json(fixture('quay-repo-push.json'))),
    )
    const url = await webhooked(runId)
    const errored = await call('POST', url, json({ state: 'error', description: 'disk full' }))
    expect(errored.body).toMatchObject({ run: { state: 'error' } })

    const button = `/runs/${runId}/retry`
    const fromElsewhere = await call('POST', button, {
      headers: { ...basicAdmin, 'sec-fetch-site': 'cross-site' },
    })
    expect(fromElsewhere.body).toMatchObject({ type: 'urn:hookchain:problem:cross-site-request' })
    const fromPage = { headers: { ...basicAdmin, 'sec-fetch-site': 'same-origin' } }
    const retried = await call('POST', button, fromPage)
    expect(retried.status).toBe(303)
    expect(retried.headers.get('location')).toBe(`/runs/${runId}`)
    const again = await call('POST', button, fromPage)
    expect(again.status).toBe(409)
    expect(again.headers.get('content-type')).toMatch(/^text\/html/)
    expect(String(again.body)).toContain(`<a href="/runs/${runId}">← Back to the run</a>`)
    const missing = await call('POST', `/runs/${NO_RUN}/retry`, fromPage)
    expect(missing.status).toBe(404)
    expect(String(missing.body)).toContain('<a href="/">← Every run</a>')
    await webhooked(runId, 2)
    // The receiver has the request before the relay has its answer and records the step running.
    const resumed = await eventually(async () => {
      const step = (await run(runId)).steps[0]
      return step?.state === 'running' ? step : undefined
    })
    expect(resumed).toMatchObject({ state: 'running', generation: 2 })
  })

  it('through every source, the deliveries it ignores or cannot match, and redelivery', async () => {
    const distribution = (type: string) => ({
      authorization: `Bearer ${SECRETS.distribution}`,
      'content-type': type,
    })
    const blob = await call('POST', '/hooks/distribution', {
      body: fixture('distribution-blob-push.json'),
      headers: distribution('application/vnd.docker.distribution.events.v1+json'),
    })
    expect(blob.body).toMatchObject({ outcome: 'ignored', runs: [] })
    const manifest = await call('POST', '/hooks/distribution', {
      body: fixture('distribution-manifest-push.json'),
      headers: distribution('application/vnd.docker.distribution.events.v2+json'),
    })
    expect(manifest.body).toMatchObject({ outcome: 'unmatched' })

    const signed = (body: string, event: string) =>
      json(body, {
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signature(body),
      })
    const pkg = fixture('github-registry-package-published.json')
    expect((await call('POST', '/hooks/github', signed(pkg, 'registry_package'))).status).toBe(202)
    // GitHub's default content type: the same JSON as the form's payload field.
    const form = new URLSearchParams({ payload: pkg }).toString()
    const formSigned = signed(form, 'registry_package')
    const fromForm = await call('POST', '/hooks/github', {
      body: form,
      headers: { ...formSigned.headers, 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(fromForm.body).toMatchObject({ outcome: 'started' })
    const ping = await call('POST', '/hooks/github', signed(fixture('github-ping.json'), 'ping'))
    expect(ping.body).toMatchObject({ outcome: 'ignored' })

    const harbor = await call(
      'POST',
      '/hooks/harbor',
      json(fixture('harbor-push-artifact.json'), { authorization: SECRETS.harbor }),
    )
    expect(harbor.body).toMatchObject({ outcome: 'started' })
    const cloudEvent = await call('POST', '/hooks/harbor', {
      body: fixture('harbor-push-artifact-cloudevents.json'),
      headers: {
        authorization: `Bearer ${SECRETS.harbor}`,
        'content-type': 'application/cloudevents+json',
      },
    })
    expect(cloudEvent.status).toBe(202)

    const ceToken = { authorization: `Bearer ${SECRETS.cloudevents}` }
    const headersOf = (name: string) => JSON.parse(fixture(name.replace('.json', '.headers.json')))
    const ceDelivery = (name: string) =>
      call('POST', '/hooks/cloudevents', {
        body: fixture(name),
        headers: { ...headersOf(name), ...ceToken },
      })
    const zot = await ceDelivery('cloudevents-zot-image-updated-binary.json')
    expect(zot.body).toMatchObject({ outcome: 'started' })
    const eventGrid = await ceDelivery('cloudevents-eventgrid-acr-pushed.json')
    expect(eventGrid.body).toMatchObject({ outcome: 'started' })
    const acrDeleted = await ceDelivery('cloudevents-other-type.json')
    expect(acrDeleted.body).toMatchObject({ outcome: 'ignored' })
    const handshake = await call('OPTIONS', '/hooks/cloudevents', {
      headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
    })
    expect(handshake.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net')

    const redeliver = (id: unknown) =>
      call('POST', `/api/events/${String(id)}/redeliver`, { headers: admin })
    const blobAgain = await redeliver((blob.body as { event_id: string }).event_id)
    expect(blobAgain.body).toMatchObject({ type: 'urn:hookchain:problem:event-has-no-push' })
    const unmatchedAgain = await redeliver((manifest.body as { event_id: string }).event_id)
    expect(unmatchedAgain.body).toMatchObject({ type: 'urn:hookchain:problem:no-chain-matches' })
    const harborAgain = await redeliver((harbor.body as { event_id: string }).event_id)
    expect(harborAgain.status).toBe(202)
    expect((await redeliver(NO_RUN)).status).toBe(404)
  })

  it('through the cloud registries: ACR, ECR and Artifact Registry', async () => {
    const acr = { authorization: `Bearer ${SECRETS.acr}` }
    expect(
      (await call('POST', '/hooks/acr', json(fixture('acr-push.json'), acr))).body,
    ).toMatchObject({ outcome: 'started' })
    expect(
      (await call('POST', '/hooks/acr', json(fixture('acr-ping.json'), acr))).body,
    ).toMatchObject({ outcome: 'ignored' })
    expect((await call('POST', '/hooks/acr', json('{}', acr))).status).toBe(422)
    expect((await call('POST', '/hooks/acr', json(fixture('acr-push.json')))).status).toBe(401)

    const ecr = { authorization: `Bearer ${SECRETS.ecr}` }
    expect(
      (await call('POST', '/hooks/ecr', json(fixture('ecr-push.json'), ecr))).body,
    ).toMatchObject({ outcome: 'started' })
    expect(
      (await call('POST', '/hooks/ecr', json(fixture('ecr-delete.json'), ecr))).body,
    ).toMatchObject({ outcome: 'ignored' })
    expect((await call('POST', '/hooks/ecr', json('{"id":"x"}', ecr))).status).toBe(422)
    expect((await call('POST', '/hooks/ecr', json(fixture('ecr-push.json'), acr))).status).toBe(401)

    const gar = {
      authorization: `Bearer ${await issuer.sign(pubSubClaims(issuer, GAR_SUBSCRIPTION))}`,
    }
    expect(
      (await call('POST', '/hooks/gar', json(fixture('gar-insert.json'), gar))).body,
    ).toMatchObject({ outcome: 'unmatched' })
    expect(
      (await call('POST', '/hooks/gar', json(fixture('gar-delete.json'), gar))).body,
    ).toMatchObject({ outcome: 'ignored' })
    expect((await call('POST', '/hooks/gar', json('{"message":{}}', gar))).status).toBe(422)
    const stranger = await issuer.sign(pubSubClaims(issuer, { ...GAR_SUBSCRIPTION, audience: 'x' }))
    const refused = await call(
      'POST',
      '/hooks/gar',
      json(fixture('gar-insert.json'), { authorization: `Bearer ${stranger}` }),
    )
    expect(refused.status).toBe(401)
    expect(refused.text).not.toContain(stranger)
  })

  it('through the hooks refusing what they cannot take', async () => {
    const dockerhub = `/hooks/dockerhub/${SECRETS.dockerhub}`
    const cloudEvents = { authorization: `Bearer ${SECRETS.cloudevents}` }
    const refusals: [string, Sent, number][] = [
      [`/hooks/quay/not-the-secret-0123456789`, json(fixture('quay-repo-push.json')), 401],
      ['/hooks/distribution', json(fixture('distribution-manifest-push.json')), 401],
      [
        '/hooks/github',
        json(fixture('github-ping.json'), {
          'x-github-event': 'ping',
          'x-hub-signature-256': 'sha256=00',
        }),
        401,
      ],
      ['/hooks/harbor', json(fixture('harbor-push-artifact.json'), { authorization: 'nope' }), 401],
      [dockerhub, json('{"push_data":'), 400],
      [dockerhub, { headers: { 'content-type': 'application/json' } }, 400],
      [dockerhub, { body: 'tag=latest', headers: { 'content-type': 'text/plain' } }, 415],
      [dockerhub, json(dockerHubPush('v3'), { 'content-encoding': 'compress' }), 415],
      [dockerhub, json({ padding: 'x'.repeat(1024 * 1024) }), 413],
      [dockerhub, json({ push_data: {}, repository: { repo_name: 'acme/app' } }), 422],
      ['/hooks/github', json('{}', { 'x-hub-signature-256': signature('{}') }), 422],
      [
        '/hooks/cloudevents',
        json(fixture('cloudevents-harbor-push.json'), { authorization: 'Bearer nope' }),
        401,
      ],
      [
        '/hooks/cloudevents',
        {
          body: `[${fixture('cloudevents-harbor-push.json')}]`,
          headers: { ...cloudEvents, 'content-type': 'application/cloudevents-batch+json' },
        },
        415,
      ],
      ['/hooks/cloudevents', json(fixture('cloudevents-harbor-push.json'), cloudEvents), 422],
    ]
    for (const [path, sent, status] of refusals) {
      const answer = await call('POST', path, sent)
      expect(answer.status, `${path}: ${answer.text}`).toBe(status)
    }
    const handshake = await call('OPTIONS', '/hooks/cloudevents', {})
    expect(handshake.body).toMatchObject({ type: 'urn:hookchain:problem:invalid-handshake' })
    // A compressed delivery is taken like any other.
    const gzipped = await call('POST', dockerhub, {
      body: gzipSync(dockerHubPush('v4')),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    })
    expect(gzipped.body).toMatchObject({ outcome: 'started' })
  })

  it('through the self-hosted registries: Artifactory, Nexus, Gitea and Forgejo', async () => {
    const hmac = (algorithm: string, secret: string, body: string) =>
      createHmac(algorithm, secret).update(body).digest('hex')
    const artifactory = fixture('artifactory-pushed.json')
    const signedPush = await call(
      'POST',
      '/hooks/artifactory',
      json(artifactory, { 'x-jfrog-event-auth': hmac('sha256', SECRETS.artifactory, artifactory) }),
    )
    expect(signedPush.body).toMatchObject({ outcome: 'unmatched' })
    const plainDeleted = await call(
      'POST',
      '/hooks/artifactory',
      json(fixture('artifactory-deleted.json'), { 'x-jfrog-event-auth': SECRETS.artifactory }),
    )
    expect(plainDeleted.body).toMatchObject({ outcome: 'ignored' })

    const nexus = (name: string, headers: Record<string, string> = {}) => {
      const body = fixture(name)
      return json(body, {
        'x-nexus-webhook-id': 'rm:repository:component',
        'x-nexus-webhook-signature': hmac('sha1', SECRETS.nexus, body),
        ...headers,
      })
    }
    expect((await call('POST', '/hooks/nexus', nexus('nexus-created.json'))).body).toMatchObject({
      outcome: 'started',
    })
    const asset = await call(
      'POST',
      '/hooks/nexus',
      nexus('nexus-deleted.json', { 'x-nexus-webhook-id': 'rm:repository:asset' }),
    )
    expect(asset.body).toMatchObject({ outcome: 'ignored' })

    const gitea = (name: string, headers: Record<string, string>) => {
      const body = fixture(name)
      return json(body, { ...headers, 'x-gitea-signature': hmac('sha256', SECRETS.gitea, body) })
    }
    const created = await call(
      'POST',
      '/hooks/gitea',
      gitea('gitea-package-created.json', { 'x-gitea-event': 'package' }),
    )
    expect(created.body).toMatchObject({ outcome: 'started' })
    const forgejoBody = fixture('gitea-package-npm.json')
    const forgejo = await call(
      'POST',
      '/hooks/gitea',
      json(forgejoBody, {
        'x-forgejo-event': 'package',
        'x-forgejo-signature': hmac('sha256', SECRETS.gitea, forgejoBody),
      }),
    )
    expect(forgejo.body).toMatchObject({ outcome: 'ignored' })

    const refusals: [string, Sent, number][] = [
      ['/hooks/artifactory', json(artifactory, { 'x-jfrog-event-auth': 'nope' }), 401],
      ['/hooks/nexus', json(fixture('nexus-created.json')), 401],
      [
        '/hooks/gitea',
        json('{}', { 'x-gitea-event': 'package', 'x-gitea-signature': hmac('sha256', 'x', '{}') }),
        401,
      ],
      ['/hooks/nexus', nexus('nexus-created.json', { 'content-type': 'text/plain' }), 415],
      [
        '/hooks/gitea',
        json('{}', {
          'x-gitea-event': 'package',
          'x-gitea-signature': hmac('sha256', SECRETS.gitea, '{}'),
        }),
        422,
      ],
    ]
    for (const [path, sent, status] of refusals) {
      const answer = await call('POST', path, sent)
      expect(answer.status, `${path}: ${answer.text}`).toBe(status)
    }
  })

  it('through the history: pages, filters and bad queries', async () => {
    const all = (await call('GET', '/api/runs?limit=100', { headers: admin })).body as {
      runs: { id: string }[]
    }
    const paged: string[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2'
      const page = (await call('GET', `/api/runs?${query}`, { headers: admin })).body as {
        runs: { id: string }[]
        next_cursor: string | null
      }
      paged.push(...page.runs.map((r) => r.id))
      cursor = page.next_cursor
    } while (cursor)
    expect(paged).toEqual(all.runs.map((r) => r.id))
    expect(paged.length).toBeGreaterThan(2)

    const filtered = await call(
      'GET',
      '/api/runs?repository=svendowideit/testhook&chain=release&state=success',
      { headers: admin },
    )
    const runs = (filtered.body as { runs: { chain: string; state: string }[] }).runs
    expect(runs.length).toBeGreaterThan(0)
    expect(runs.every((r) => r.chain === 'release' && r.state === 'success')).toBe(true)

    const events = await call('GET', '/api/events?source=distribution&outcome=ignored&limit=1', {
      headers: admin,
    })
    const [event] = (events.body as { events: { id: string; source: string }[] }).events
    expect(event?.source).toBe('distribution')
    const one = await call('GET', `/api/events/${event?.id}`, { headers: admin })
    expect(JSON.parse((one.body as { payload: string }).payload)).toEqual(
      JSON.parse(fixture('distribution-blob-push.json')),
    )
    const rejected = await call('GET', '/api/events?outcome=rejected', { headers: admin })
    expect((rejected.body as { events: unknown[] }).events.length).toBeGreaterThan(0)
    expect((await call('GET', '/api/events', { headers: admin })).status).toBe(200)

    const found = async (query: string) =>
      (
        (await call('GET', `/api/runs?${query}&limit=100`, { headers: admin })).body as {
          runs: { id: string; image: { repository: string; tag: string | null } }[]
        }
      ).runs
    expect((await found('repository=svendowideit/*')).length).toBeGreaterThan(0)
    expect(
      (await found('repository=docker.io%2Fsvendowideit%2Ftesthook')).every(
        (r) => r.image.repository === 'svendowideit/testhook',
      ),
    ).toBe(true)
    expect((await found('tag=v*&chain=lease')).every((r) => r.image.tag?.startsWith('v'))).toBe(
      true,
    )
    expect(await found('digest=sha256:0000000000')).toEqual([])
    expect(await found('pusher=nobody-at-all')).toEqual([])
    const recent = await found('since=1h&until=2999-01-01')
    expect(recent.length).toBe(all.runs.length)
    expect(await found('until=2000-01-01T00:00:00Z')).toEqual([])
    expect(await found(`q=${encodeURIComponent('gated tag:p*')}`)).not.toEqual([])
    expect(
      (await found(`q=${encodeURIComponent('gated tag:p*')}`)).every(
        (r) => r.image.repository === 'acme/gated' && r.image.tag?.startsWith('p'),
      ),
    ).toBe(true)

    for (const query of [
      'state=finished',
      'limit=0',
      'limit=many',
      'cursor=page-2',
      'chain=a&chain=b',
      `repository=${'a'.repeat(301)}`,
      'since=last-week',
      'since=99999999999999999d',
      'until=2026-02-31T25:00:00Z',
      'repository=a%00b',
      'digest=not-hex',
      'q=colour%3Ablue',
      'q=tag%3Aa&tag=b',
    ]) {
      const answer = await call('GET', `/api/runs?${query}`, { headers: admin })
      expect(answer.status, query).toBe(400)
    }
    const unknown = await call('GET', '/api/runs?repo=acme&sort=asc', { headers: admin })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({
      type: 'urn:hookchain:problem:invalid-query',
      errors: [
        { parameter: 'repo', detail: 'is not a parameter of this route' },
        { parameter: 'sort', detail: 'is not a parameter of this route' },
      ],
    })
    expect((unknown.body as { detail: string }).detail).toContain('It takes repository, chain,')
    const eventsBy = await call(
      'GET',
      '/api/events?repository=svendowideit%2F*&tag=latest&since=2000-01-01&until=2999-12-31',
      { headers: admin },
    )
    const byImage = (eventsBy.body as { events: { pushes: { tag: string | null }[] }[] }).events
    expect(byImage.length).toBeGreaterThan(0)
    expect(byImage.every((e) => e.pushes.some((p) => p.tag === 'latest'))).toBe(true)
    expect(
      (await call('GET', '/api/events?outcome=started&verbose=1', { headers: admin })).status,
    ).toBe(400)
    expect((await call('GET', '/api/events?source=docker', { headers: admin })).status).toBe(400)
    expect(
      (await call('GET', `/api/events/${event?.id}?reveal=callback_url&x=1`, { headers: admin }))
        .status,
    ).toBe(400)
    const duplicated = (
      (await call('GET', '/api/events?source=dockerhub&limit=100', { headers: admin })).body as {
        events: { duplicates: number; last_duplicate_at: string | null }[]
      }
    ).events.find((e) => e.duplicates > 0)
    expect(duplicated?.duplicates).toBe(1)
    expect(duplicated?.last_duplicate_at).toMatch(/^\d{4}-/)
    expect((await call('GET', `/api/runs/${NO_RUN}`, { headers: admin })).status).toBe(404)
    expect((await call('GET', '/api/runs/42', { headers: admin })).status).toBe(404)
    expect((await call('GET', `/api/events/${NO_RUN}`, { headers: admin })).status).toBe(404)
    expect((await call('GET', '/api/runs')).status).toBe(401)
    expect(
      (await call('GET', '/api/events', { headers: { authorization: 'Bearer x' } })).status,
    ).toBe(401)
  })

  it('through the web pages and their assets', async () => {
    const runs = (await call('GET', '/api/runs?limit=1', { headers: admin })).body as {
      runs: { id: string; event_id: string }[]
    }
    const latest = runs.runs[0]
    const pages: [string, number][] = [
      ['/', 200],
      ['/?chain=release&state=failure&limit=5', 200],
      ['/?q=release+tag%3Av*&since=7d', 200],
      ['/?state=nope', 400],
      ['/?colour=blue', 400],
      [`/runs/${latest?.id}`, 200],
      [`/runs/${latest?.id}?refresh=1`, 400],
      [`/runs/${NO_RUN}`, 404],
      ['/events', 200],
      ['/events?source=harbor&repository=acme%2F*&tag=v*&since=1d&until=2999-01-01', 200],
      ['/events?outcome=lost', 400],
      [`/events/${latest?.event_id}`, 200],
      [`/events/${latest?.event_id}?raw=1`, 400],
      ['/events/nope', 404],
      ['/chains', 200],
      ['/assets/hookchain.css', 200],
      ['/assets/hookchain.js', 200],
      ['/assets/favicon.svg', 200],
    ]
    for (const [path, status] of pages) {
      expect((await call('GET', path, { headers: basicAdmin })).status, path).toBe(status)
    }
    const challenge = await call('GET', '/')
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Basic /)
  })

  it('through the operations endpoints', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' })
    expect((await call('GET', '/readyz')).body).toMatchObject({ status: 'ready' })
    expect((await call('GET', '/metrics')).text).toContain('hookchain_events_total')
  })

  it.skipIf(onPostgres)(
    'through 503s with Retry-After while another process holds the database',
    async () => {
      const runId = await pushed(
        await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(dockerHubPush('v5'))),
      )
      const url = await dispatched(runId, 1)
      const other = new Database(t.databaseFile)
      other.exec('BEGIN EXCLUSIVE')
      try {
        const answers = await Promise.all([
          call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(dockerHubPush('v6'))),
          call('POST', url, json({ state: 'failure' })),
        ])
        for (const answer of answers) {
          expect(answer.status, answer.text).toBe(503)
          expect(answer.body).toMatchObject({ type: 'urn:hookchain:problem:database-unavailable' })
        }
      } finally {
        other.exec('ROLLBACK')
        other.close()
      }
    },
  )

  it('through a workflow starting a chain, and following its run with the run token', async () => {
    const sha = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'
    const image = `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}`
    const job = await issuer.sign(githubJobClaims(issuer, { repository: 'acme/app', sha }))
    const start = (chain: string, body: unknown, token = job, headers = {}) =>
      call(
        'POST',
        `/api/chains/${chain}/runs`,
        json(body, { authorization: `Bearer ${token}`, ...headers }),
      )
    const started = await start('from-workflow', { image, source: { repository: 'acme/app', sha } })
    expect(started.status).toBe(201)
    const { run: begun, run_token: runToken } = started.body as {
      run: { id: string }
      run_token: string
    }
    expect(started.headers.get('location')).toBe(`/api/runs/${begun.id}`)
    expect(started.body).toMatchObject({
      url: `http://relay.test/runs/${begun.id}`,
      run: {
        source: 'workflow',
        source_commit: { repository: 'acme/app', sha, from: 'start-request' },
        origin: {
          kind: 'workflow',
          url: `${github.url}/acme/app/actions/runs/4242/attempts/1`,
        },
      },
    })
    // The same token again (an answer lost on the way): the same run, another run token.
    const again = await start('from-workflow', { image })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ run: { id: begun.id } })
    expect((again.body as { run_token: string }).run_token).not.toBe(runToken)

    const reader = { authorization: `Bearer ${runToken}` }
    const read = await call('GET', `/api/runs/${begun.id}`, { headers: reader })
    expect(read.status).toBe(200)
    const etag = read.headers.get('etag') as string
    const held = await call('GET', `/api/runs/${begun.id}?wait=1`, {
      headers: { ...reader, 'if-none-match': etag },
    })
    // Step 1's dispatch may land first and change the run: either answer is right.
    expect([200, 304]).toContain(held.status)
    const badWait = await call('GET', `/api/runs/${begun.id}?wait=61`, { headers: reader })
    expect(badWait.status).toBe(400)
    const elsewhere = await call('GET', '/api/runs', { headers: reader })
    expect(elsewhere.body).toMatchObject({ type: 'urn:hookchain:problem:outside-run-token' })
    const unknown = await call('GET', `/api/runs/${begun.id}`, {
      headers: { authorization: `Bearer hcrun_${'x'.repeat(43)}` },
    })
    expect(unknown.body).toMatchObject({ type: 'urn:hookchain:problem:run-token-not-accepted' })

    const refused = async (answer: CheckedAnswer, status: number, type: string) => {
      expect(answer.status, answer.text).toBe(status)
      expect(answer.body).toMatchObject({ type: `urn:hookchain:problem:${type}` })
    }
    await refused(await start('release', { image }), 403, 'chain-not-startable')
    const other = await issuer.sign(githubJobClaims(issuer, { repository: 'acme/other', sha }))
    await refused(await start('from-workflow', { image }, other), 403, 'repository-not-allowed')
    await refused(await start('nightly', { image }), 404, 'chain-not-found')
    const expired = await issuer.sign(
      githubJobClaims(issuer, { repository: 'acme/app', sha }, { exp: epoch(-120) }),
    )
    await refused(await start('from-workflow', { image }, expired), 401, 'token-not-accepted')
    await refused(
      await call('POST', '/api/chains/from-workflow/runs', json({ image })),
      401,
      'token-not-accepted',
    )
    await refused(await start('from-workflow', { image: 'ghcr.io/acme/app' }), 422, 'invalid-start')
    await refused(await start('from-workflow', { image, extra: 1 }), 422, 'invalid-start')
    await refused(
      await start('from-workflow', {
        image,
        source: { repository: 'acme/app', sha: 'a'.repeat(40) },
      }),
      422,
      'invalid-start',
    )
    await refused(
      await call('POST', '/api/chains/from-workflow/runs', {
        body: `image=${image}`,
        headers: { authorization: `Bearer ${job}`, 'content-type': 'text/plain' },
      }),
      415,
      'unsupported-media-type',
    )
    await refused(
      await start('from-workflow', { image }, job, { 'sec-fetch-site': 'cross-site' }),
      403,
      'cross-site-request',
    )
    await refused(await start('from-workflow', '{"image":'), 400, 'malformed-json')

    // The admin may start any chain, and says where the image comes from.
    const byAdmin = await call(
      'POST',
      '/api/chains/release/runs',
      json(
        { image: 'docker.io/svendowideit/testhook:v9', source: { repository: 'acme/app', sha } },
        admin,
      ),
    )
    expect(byAdmin.status).toBe(201)
    expect(byAdmin.body).toMatchObject({ run: { origin: { kind: 'admin', by: 'admin' } } })
  })

  it('on every documented operation, and the app serves no route the document leaves out', () => {
    expect(checker.unexercised()).toEqual([])
    const app = createApp({
      store: t.relay.store,
      runs: t.relay.runs,
      settings: { ...t.settings, publicUrl: t.relay.publicUrl },
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(t.relay.store, { defaultMetrics: false }),
    })
    expect(checker.undocumentedRoutes(app)).toEqual([])
  })
})

describe('openapi.yaml', () => {
  const { document } = checker
  const operations = Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, operation]) => ({ template, method, operation })),
  )
  const resolved = (node: unknown): Record<string, unknown> => {
    let value = node as Record<string, unknown>
    while (typeof value.$ref === 'string') {
      value = value.$ref
        .slice(2)
        .split('/')
        .reduce<Record<string, unknown>>(
          (at, part) => at[part.replace(/~1/g, '/')] as Record<string, unknown>,
          document as unknown as Record<string, unknown>,
        )
    }
    return value
  }

  it('lists every source of the relay, test events and workflows, and no other', () => {
    const source = (document as unknown as { components: { schemas: Record<string, unknown> } })
      .components.schemas.Source as { enum: string[] }
    expect([...source.enum].sort()).toEqual([...SOURCE_NAMES, 'test', WORKFLOW_SOURCE].sort())
  })

  it('lists every problem type the relay answers with, and no other', () => {
    const problem = (document as unknown as { components: { schemas: Record<string, unknown> } })
      .components.schemas.Problem as { properties: { type: { enum: string[] } } }
    expect([...problem.properties.type.enum].sort()).toEqual(
      PROBLEM_TYPE_NAMES.map((name) => `urn:hookchain:problem:${name}`).sort(),
    )
  })

  it('names each operation once and declares each path parameter of its template', () => {
    const ids = operations.map((o) => o.operation.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const { template, method, operation } of operations) {
      const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
      const declared = ((operation.parameters ?? []) as unknown[])
        .map(resolved)
        .filter((p) => p.in === 'path')
      expect(
        declared.map((p) => p.name),
        `${method} ${template}`,
      ).toEqual(inTemplate)
      expect(declared.every((p) => p.required === true)).toBe(true)
    }
  })

  it('describes every response and uses only the security schemes it defines', () => {
    const schemes = Object.keys(document.components.securitySchemes as object)
    for (const { template, method, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses as object)) {
        expect(status, `${method} ${template}`).toMatch(/^[1-5]\d\d$/)
        expect(resolved(response).description, `${method} ${template} ${status}`).toBeTruthy()
      }
      const requirements = (operation.security ?? document.security ?? []) as object[]
      for (const requirement of requirements)
        for (const scheme of Object.keys(requirement)) expect(schemes).toContain(scheme)
    }
  })

  it('holds only schemas that compile under strict rules', () => {
    for (const name of Object.keys(document.components.schemas as object)) {
      expect(() => checker.validate(`/components/schemas/${name}`, null, name)).not.toThrow(
        /strict mode|can't resolve/,
      )
    }
  })
})

describe('the checker', () => {
  const problem = (status: number, extra: object = {}) =>
    new Response(
      JSON.stringify({
        type: 'urn:hookchain:problem:run-not-found',
        title: 'Run not found',
        status,
        detail: 'There is no run.',
        ...extra,
      }),
      { status, headers: { 'content-type': 'application/problem+json' } },
    )
  const get = (path: string) => ({ method: 'GET', url: `http://relay.test${path}` })

  it('refuses answers the document does not describe', async () => {
    await expect(checker.check(get(`/api/runs/${NO_RUN}`), problem(404))).resolves.toBeTruthy()
    await expect(checker.check(get(`/api/runs/${NO_RUN}`), problem(418))).rejects.toThrow(
      /does not document/,
    )
    await expect(
      checker.check(get(`/api/runs/${NO_RUN}`), problem(404, { hint: 'x' })),
    ).rejects.toThrow(/does not match/)
    await expect(checker.check(get('/api/runs'), problem(401))).rejects.toThrow(/WWW-Authenticate/)
    await expect(checker.check(get('/api/nothing'), problem(404))).rejects.toThrow(/not a path/)
    const notServed = problem(404, { type: 'urn:hookchain:problem:not-found' })
    await expect(checker.check(get(`/runs/${NO_RUN}`), notServed)).rejects.toThrow(/serves nothing/)
  })

  it('refuses requests the document does not allow, when the relay took them', async () => {
    const ok = () =>
      new Response('{"status":"ok"}', { headers: { 'content-type': 'application/json' } })
    await expect(checker.check(get('/healthz?verbose=1'), ok())).rejects.toThrow(/query parameter/)
    const page = () =>
      new Response('{"runs":[],"next_cursor":null}', {
        headers: { 'content-type': 'application/json' },
      })
    await expect(checker.check(get('/api/runs'), page())).rejects.toThrow(/credentials/)
  })

  it('finds a route the app serves and the document leaves out', () => {
    const app = createApp({
      store: t.relay.store,
      runs: t.relay.runs,
      settings: { ...t.settings, publicUrl: t.relay.publicUrl },
      logger: pino({ level: 'silent' }),
    })
    app.get('/api/undocumented/:id', (_req, res) => {
      res.json({})
    })
    expect(checker.undocumentedRoutes(app)).toEqual(['GET /api/undocumented/:id'])
  })
})

describe('the Callback schema of openapi.yaml', () => {
  const documented = (checker.document.components.schemas as Record<string, unknown>)
    .Callback as Record<string, unknown>

  /** A schema without its annotations, in OpenAPI 3.1 words: ajv's `nullable: true` is a `"null"` type. */
  function asOpenApi(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map(asOpenApi)
    if (typeof schema !== 'object' || schema === null) return schema
    const { nullable, ...rest } = schema as Record<string, unknown>
    const out = Object.fromEntries(
      Object.entries(rest)
        .filter(([key]) => !['$id', 'title', 'description'].includes(key))
        .map(([key, value]) => [key, asOpenApi(value)]),
    )
    return nullable ? { ...out, type: [out.type, 'null'] } : out
  }
  it('states the same rules as src/shared/callback.ts', () => {
    expect(asOpenApi(documented)).toEqual(asOpenApi(callbackSchema))
  })

  it('accepts and refuses exactly the bodies the relay does', () => {
    const text = (max: number) =>
      fc.oneof(fc.string({ maxLength: 3 }), fc.string({ minLength: max - 1, maxLength: max + 1 }))
    const value = fc.oneof(
      fc.constantFrom('success', 'failure', 'error', 'pending', 'done', 'SUCCESS'),
      text(100),
      text(255),
      fc.webUrl(),
      fc.constantFrom(
        'ftp://x.example',
        'https://user@x.example',
        'http://a b',
        'https://ci.example/',
      ),
      fc.constant(null),
      fc.integer(),
    )
    const body = fc.oneof(
      fc.record(
        { state: value, description: value, context: value, target_url: value, extra: value },
        { requiredKeys: [] },
      ),
      fc.constantFrom(null, [], 'success'),
    )
    fc.assert(
      fc.property(body, (candidate) => {
        let documentedVerdict = true
        try {
          checker.validate('/components/schemas/Callback', candidate, 'callback')
        } catch {
          documentedVerdict = false
        }
        expect(documentedVerdict).toBe(validateCallback(candidate).ok)
      }),
      { numRuns: 500 },
    )
  })
})
