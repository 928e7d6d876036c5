// Chains beyond a line, end to end: a real relay with the GitHub stand-in, a Slack stand-in and a
// webhook receiver on 127.0.0.1, and real Chromium for the run page's buttons.
import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain, NotifyTarget } from '../../src/relay/config/settings.js'
import type { RunJson } from '../../src/relay/http/representation.js'
import { CHROMIUM_FLAGS, findChromium } from '../support/browser.js'
import {
  type AcceptedDispatch,
  type GitHubStandIn,
  startGitHubStandIn,
} from '../support/github-stand-in.js'
import {
  type HttpReceiver,
  type ReceivedRequest,
  startHttpReceiver,
} from '../support/http-receiver.js'
import { openApiChecker } from '../support/openapi-check.js'
import {
  SLACK_TOKEN,
  type SlackMessage,
  type SlackStandIn,
  startSlackStandIn,
} from '../support/slack-stand-in.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from './relay-harness.js'

const openapi = openApiChecker(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)))
/** Signs the notifications of the `webhook` target, and the webhook branch of the groups. */
const NOTIFY_SECRET = `whsec_${Buffer.from('notify-secret-for-the-shapes-test').toString('base64')}`
const BRANCH_SECRET = 'branch-secret-0123456789'
const REGISTRY = '127.0.0.1:5055'
/** Who uses the pages: alice, with the admin token as her basic-auth password. */
const ALICE = { username: 'alice', password: SECRETS.admin }

let github: GitHubStandIn
let slack: SlackStandIn
/** The webhook branches of the groups, and the notify webhook target (`/hookchain`). */
let receiver: HttpReceiver
/** Slack and the webhook target of the chain whose notifications fail. */
let noisySlack: SlackStandIn
let noisyReceiver: HttpReceiver
/** A registry that takes Docker Hub's callback_url. */
let registry: HttpReceiver
let t: TestRelay
let profile: string
let context: BrowserContext
let page: Page
const trouble: string[] = []

/** Slack hears what `slackOn` asks for; the webhook target, of everything but cancellations. */
function notify(
  channel: string,
  slackOn: NotifyTarget['on'],
  to = { slack, receiver },
): NotifyTarget[] {
  return [
    { kind: 'slack', url: to.slack.webhookUrl(channel), on: slackOn },
    {
      kind: 'webhook',
      url: `${to.receiver.url}/hookchain`,
      secret: NOTIFY_SECRET,
      on: ['success', 'failure', 'error', 'approval'],
    },
  ]
}

/** Pushes of `match`: an `all` group (a dispatch and a webhook), an approval, a deploy. */
function gated(
  name = 'gated',
  match = 'acme/gated-*',
  targets = notify('gated', ['approval', 'success', 'failure', 'cancelled']),
): Chain {
  return {
    name,
    match: { repository: match, tags: null },
    stepTimeoutMs: 60_000,
    steps: [
      {
        kind: 'parallel',
        require: 'all',
        branches: [
          { kind: 'dispatch', repository: 'acme/api-tests', eventType: 'image-pushed' },
          { kind: 'webhook', url: `${receiver.url}/ui-tests`, secret: BRANCH_SECRET },
        ],
      },
      { kind: 'approval', timeoutMs: 3_600_000 },
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
    ],
    onFailure: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' }],
    notify: targets,
  }
}

/** Pushes of acme/mirrored: an `any` group of two mirrors, then an announcement. */
function mirrors(): Chain {
  return {
    name: 'mirrors',
    match: { repository: 'acme/mirrored', tags: null },
    stepTimeoutMs: 60_000,
    steps: [
      {
        kind: 'parallel',
        require: 'any',
        branches: [
          { kind: 'dispatch', repository: 'acme/mirror-eu', eventType: 'mirror' },
          { kind: 'dispatch', repository: 'acme/mirror-us', eventType: 'mirror' },
        ],
      },
      { kind: 'dispatch', repository: 'acme/announce', eventType: 'announce' },
    ],
    onFailure: [],
    notify: notify('mirrors', ['success', 'failure']),
  }
}

/** Docker Hub pushes of svendowideit/testhook, with the registry's callback_url. */
function dockerHub(): Chain {
  return {
    name: 'hub',
    match: { repository: 'svendowideit/testhook', tags: null },
    stepTimeoutMs: 60_000,
    steps: [
      {
        kind: 'parallel',
        require: 'all',
        branches: [
          { kind: 'dispatch', repository: 'acme/scan', eventType: 'scan' },
          { kind: 'dispatch', repository: 'acme/smoke', eventType: 'smoke' },
        ],
      },
      { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
    ],
    onFailure: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' }],
    // Slack wants cancellations; the webhook does not.
    notify: notify('hub', ['cancelled']),
  }
}

beforeAll(async () => {
  github = await startGitHubStandIn()
  slack = await startSlackStandIn()
  receiver = await startHttpReceiver()
  registry = await startHttpReceiver()
  noisySlack = await startSlackStandIn()
  noisyReceiver = await startHttpReceiver()
  const noisy = notify('noisy', ['approval', 'success'], {
    slack: noisySlack,
    receiver: noisyReceiver,
  })
  const settings = testSettings(github.url, {
    chains: [gated(), gated('noisy', 'acme/noisy', noisy), mirrors(), dockerHub()],
    registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true },
  })
  settings.secrets = [...settings.secrets, NOTIFY_SECRET, BRANCH_SECRET]
  t = await startTestRelay(settings, { outboundTimeoutMs: 1000 })

  profile = mkdtempSync(join(tmpdir(), 'hookchain-shapes-'))
  const browser = await findChromium()
  context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executablePath,
    env: { ...process.env, ...browser.env },
    args: CHROMIUM_FLAGS,
    // The browser logs in as a person does: basic auth, the admin token as the password.
    httpCredentials: ALICE,
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => trouble.push(`page error: ${error.message}`))
}, 60_000)

afterAll(async () => {
  await context?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
  await t?.close()
  await Promise.all(
    [github, slack, receiver, registry, noisySlack, noisyReceiver].map((server) => server?.close()),
  )
})

/** A distribution registry's push of `repository:tag`, with a digest of its own; the run id. */
async function push(repository: string, tag: string): Promise<{ runId: string; digest: string }> {
  const body = JSON.parse(fixture('distribution-manifest-push.json'))
  const [event] = body.events
  const digest = `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}`
  event.id = randomUUID()
  Object.assign(event.target, { repository, tag, digest })
  const answer = await t.post('/hooks/distribution', JSON.stringify(body), {
    authorization: `Bearer ${SECRETS.distribution}`,
    'content-type': 'application/vnd.docker.distribution.events.v1+json',
  })
  expect(answer.status).toBe(202)
  const { runs } = (await answer.json()) as { runs: string[] }
  expect(runs).toHaveLength(1)
  return { runId: runs[0] as string, digest }
}

const run = (id: string) => t.api<RunJson>(`/api/runs/${id}`)

/** Waits until the run is as `ready` says. */
function runWhen(id: string, ready: (run: RunJson) => boolean): Promise<RunJson> {
  return eventually(async () => {
    const current = await run(id)
    return ready(current) ? current : undefined
  })
}

function dispatchesOf(runId: string, step: number | string): AcceptedDispatch[] {
  return github.dispatches.filter(
    (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
  )
}

/** The one dispatch of a step (number, or name such as `1.2` or `on_failure.1`), once sent. */
function dispatched(runId: string, step: number | string): Promise<AcceptedDispatch> {
  return eventually(() => dispatchesOf(runId, step)[0])
}

/** The webhook a step of `runId` received, verified with the branch's secret. */
async function webhooked(runId: string, step: string): Promise<{ callback_url: string } & Hooked> {
  const request = await eventually(() =>
    receiver.requests.find((r) => {
      const hook = (r.body as Hooked | undefined)?.hookchain
      return r.path === '/ui-tests' && hook?.run_id === runId && hook.step === step
    }),
  )
  const signer = new Webhook(Buffer.from(BRANCH_SECRET, 'utf8'), { format: 'raw' })
  return signer.verify(request.rawBody.toString('utf8'), flat(request)) as {
    callback_url: string
  } & Hooked
}

interface Hooked {
  hookchain: { run_id: string; step: number | string; steps: number }
}

/** Reports a step's result at the callback URL its dispatch or webhook carried. */
async function report(callbackUrl: string, body: unknown): Promise<Response> {
  return fetch(t.local(callbackUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function succeed(callbackUrl: string, description = 'passed'): Promise<void> {
  expect((await report(callbackUrl, { state: 'success', description })).status).toBe(200)
}

const callbackOf = (dispatch: AcceptedDispatch) => String(dispatch.clientPayload?.callback_url)

/** Both branches of the gated chain's group report success. */
async function passGroup(runId: string): Promise<void> {
  await succeed(callbackOf(await dispatched(runId, '1.1')), '120 API tests passed')
  await succeed((await webhooked(runId, '1.2')).callback_url, '48 UI tests passed')
}

function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${SECRETS.admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Headers as `standardwebhooks` takes them. */
function flat(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
  )
}

interface Notified {
  type: string
  run: { id: string; chain: string; url: string; attempt: number }
  image: string
  title: string
  detail: string | null
}

/**
 * The notifications of `runId` the webhook target got, each verified with its signature and held
 * against openapi.yaml's RunNotification.
 */
function webhookNotices(runId: string, to = receiver): (Notified & { id: string })[] {
  const verifier = new Webhook(NOTIFY_SECRET)
  return to.requests
    .filter((r) => r.path === '/hookchain' && (r.body as Notified).run?.id === runId)
    .map((r) => {
      const body = verifier.verify(r.rawBody.toString('utf8'), flat(r)) as Notified
      openapi.validate('/components/schemas/RunNotification', body, 'a run notification')
      return { ...body, id: String(r.headers['webhook-id']) }
    })
}

/** What Slack posted about `runId`: the messages whose link leads to its page. */
function slackNotices(runId: string, to = slack): SlackMessage[] {
  return to.posted().filter((m) => m.links.some((l) => l.url.endsWith(`/runs/${runId}`)))
}

const runPage = (runId: string) => `http://relay.test/runs/${runId}`

/** Presses a button of the run page, whose form answers with the run page again: 303, then 200. */
async function pressAndReload(button: Locator, runId: string): Promise<void> {
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.click(),
  ])
  expect(posted.status()).toBe(303)
  await page.waitForURL(`${t.url}/runs/${runId}`)
  await page.waitForLoadState()
}

describe('a chain with an all group, an approval and notifications', () => {
  it('sends both branches at once, waits for a person, and goes on once alice approves on the run page', async () => {
    const { runId } = await push('acme/gated-app', 'v1')
    const api = await dispatched(runId, '1.1')
    expect(api).toMatchObject({ repository: 'acme/api-tests', eventType: 'image-pushed' })
    expect(api.clientPayload).toMatchObject({ chain: 'gated', step: '1.1', steps: 3, attempt: 1 })
    // The webhook branch is signed with its own secret, and names its place in the group.
    const ui = await webhooked(runId, '1.2')
    expect(ui.hookchain).toMatchObject({ run_id: runId, step: '1.2', steps: 3 })
    expect(await run(runId)).toMatchObject({
      state: 'running',
      steps: [
        { kind: 'parallel', require: 'all', state: 'running' },
        { kind: 'approval', state: 'queued' },
        { kind: 'dispatch', state: 'queued' },
      ],
    })

    await passGroup(runId)
    const waiting = await runWhen(runId, (r) => r.steps[1]?.state === 'waiting')
    expect(waiting.steps[0]).toMatchObject({
      state: 'success',
      description: 'All 2 branches succeeded',
    })
    expect(dispatchesOf(runId, 3)).toEqual([])

    // Slack and the webhook hear that the run waits, with a link to its page.
    const [asked] = await eventually(() => {
      const found = slackNotices(runId)
      return found.length ? found : undefined
    })
    expect(asked?.problems).toEqual([])
    expect(asked?.shown).toContain(
      'gated waits for an approval for 127.0.0.1:5055/acme/gated-app:v1',
    )
    expect(asked?.shown).toMatch(/Step 2 of 3 waits for a decision until \d{4}-/)
    expect(asked?.links).toEqual([{ url: runPage(runId), label: 'View the run' }])
    const approval = await eventually(() => webhookNotices(runId)[0])
    expect(approval).toMatchObject({
      type: 'hookchain.run.approval',
      run: { id: runId, chain: 'gated', url: runPage(runId) },
      image: `${REGISTRY}/acme/gated-app:v1`,
    })

    // Alice follows the link, leaves a comment and approves.
    await page.goto(t.local(asked?.links[0]?.url ?? ''))
    expect(await page.locator('h1').textContent()).toBe('gated')
    await page.getByLabel('Comment').fill('UI looks right')
    await pressAndReload(page.getByRole('button', { name: 'Approve', exact: true }), runId)
    expect(await page.locator('#step-2 .decision-made').textContent()).toMatch(
      /^Approved by alice .*: UI looks right$/s,
    )
    expect(await page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0)

    const deploy = await dispatched(runId, 3)
    expect(deploy).toMatchObject({ repository: 'acme/deploy', eventType: 'deploy' })
    await succeed(callbackOf(deploy), 'deployed')
    const ended = await run(runId)
    expect(ended).toMatchObject({
      state: 'success',
      steps: [
        { state: 'success' },
        {
          state: 'success',
          description: 'Approved by alice: UI looks right',
          decision: { approved: true, by: 'alice', comment: 'UI looks right' },
        },
        { state: 'success', description: 'deployed' },
      ],
    })

    const [, done] = await eventually(() => {
      const found = slackNotices(runId)
      return found.length >= 2 ? found : undefined
    })
    expect(done?.shown).toContain('gated succeeded for 127.0.0.1:5055/acme/gated-app:v1')
    expect(done?.shown).toContain('3 of 3 steps succeeded')
    const notices = await eventually(() => {
      const found = webhookNotices(runId)
      return found.length >= 2 ? found : undefined
    })
    expect(notices.map((n) => n.type)).toEqual(['hookchain.run.approval', 'hookchain.run.success'])
    expect(new Set(notices.map((n) => n.id)).size).toBe(2)
    // The run's history lists each notification it sent.
    const history = await eventually(async () => {
      const current = await run(runId)
      return current.notifications.length >= 4 ? current : undefined
    })
    // Slack's webhook URL is a secret: the history shows it without its token.
    expect(JSON.stringify(history)).not.toContain(SLACK_TOKEN)
    expect(history.notifications.map((n) => [n.kind, n.status])).toEqual([
      ['notification', 200],
      ['notification', 200],
      ['notification', 200],
      ['notification', 200],
    ])
  })

  it('fails the run when an approval is rejected through the API, and rolls back to the last image that succeeded', async () => {
    const good = await push('acme/gated-rejected', 'v1')
    await passGroup(good.runId)
    await runWhen(good.runId, (r) => r.steps[1]?.state === 'waiting')
    expect((await admin('POST', `/api/runs/${good.runId}/steps/2/approve`)).status).toBe(200)
    await succeed(callbackOf(await dispatched(good.runId, 3)))
    expect((await run(good.runId)).state).toBe('success')

    const { runId } = await push('acme/gated-rejected', 'v2')
    await passGroup(runId)
    await runWhen(runId, (r) => r.steps[1]?.state === 'waiting')
    const rejected = await admin('POST', `/api/runs/${runId}/steps/2/reject`, {
      comment: 'not on a Friday',
    })
    expect(rejected.status).toBe(200)
    expect(await rejected.json()).toMatchObject({
      state: 'failure',
      steps: [
        { state: 'success' },
        {
          state: 'failure',
          description: 'Rejected by admin: not on a Friday',
          decision: { approved: false, by: 'admin', comment: 'not on a Friday' },
        },
        { state: 'skipped' },
      ],
    })
    // A decision is made once.
    expect((await admin('POST', `/api/runs/${runId}/steps/2/approve`)).status).toBe(409)

    const rollback = await dispatched(runId, 'on_failure.1')
    expect(rollback).toMatchObject({ repository: 'acme/deploy', eventType: 'rollback' })
    expect(rollback.clientPayload).toMatchObject({
      steps: 1,
      image: {
        reference: `${REGISTRY}/acme/gated-rejected:v2`,
        previous: { reference: `${REGISTRY}/acme/gated-rejected:v1`, digest: good.digest },
      },
    })
    expect(dispatchesOf(runId, 3)).toEqual([])
    await succeed(callbackOf(rollback), 'rolled back to v1')
    // The rollback is recorded beside the run's result, which stays a failure.
    expect(await runWhen(runId, (r) => r.on_failure?.state === 'success')).toMatchObject({
      state: 'failure',
      on_failure: { steps: [{ state: 'success', description: 'rolled back to v1' }] },
    })

    const failed = await eventually(() =>
      slackNotices(runId).find((m) => m.shown.includes('failed')),
    )
    expect(failed.shown).toContain('gated failed for 127.0.0.1:5055/acme/gated-rejected:v2')
    expect(failed.shown).toContain(
      'Step 2 (approval) ended as failure: Rejected by admin: not on a Friday',
    )
  })

  it('makes a retry attempt 2 of the run, from the rejected approval, and keeps attempt 1 as it ended', async () => {
    const { runId } = await push('acme/gated-retried', 'v1')
    await passGroup(runId)
    await runWhen(runId, (r) => r.steps[1]?.state === 'waiting')
    expect((await admin('POST', `/api/runs/${runId}/steps/2/reject`)).status).toBe(200)
    await succeed(callbackOf(await dispatched(runId, 'on_failure.1')), 'nothing to roll back')
    await runWhen(runId, (r) => r.on_failure?.state === 'success')

    const retried = await admin('POST', `/api/runs/${runId}/retry`)
    expect(retried.status).toBe(202)
    expect(await retried.json()).toMatchObject({
      state: 'running',
      attempt: 2,
      // The group succeeded in attempt 1 and is not run again.
      steps: [{ state: 'success' }, { state: 'waiting' }, { state: 'queued' }],
      earlier_attempts: [
        {
          attempt: 1,
          state: 'failure',
          steps: [{ state: 'success' }, { state: 'failure' }, { state: 'skipped' }],
          on_failure: { state: 'success' },
        },
      ],
    })
    expect((await admin('POST', `/api/runs/${runId}/steps/2/approve`)).status).toBe(200)
    const deploy = await dispatched(runId, 3)
    expect(deploy.clientPayload?.attempt).toBe(2)
    await succeed(callbackOf(deploy), 'deployed on the second try')
    expect(await run(runId)).toMatchObject({ state: 'success', attempt: 2 })

    // Each attempt's approval is a message of its own: a receiver that drops repeats keeps both.
    const notices = await eventually(() => {
      const found = webhookNotices(runId)
      return found.length >= 4 ? found : undefined
    })
    expect(notices.map((n) => [n.type, n.run.attempt])).toEqual([
      ['hookchain.run.approval', 1],
      ['hookchain.run.failure', 1],
      ['hookchain.run.approval', 2],
      ['hookchain.run.success', 2],
    ])
    expect(new Set(notices.map((n) => n.id)).size).toBe(4)

    await page.goto(`${t.url}/runs/${runId}`)
    expect(await page.locator('.earlier-attempt summary').textContent()).toMatch(
      /^Attempt 1 \S*failure /,
    )
  })

  it('stops the group at a failing branch, cancels the other, refuses its late report, and runs on_failure', async () => {
    const good = await push('acme/gated-broken', 'v1')
    await passGroup(good.runId)
    await runWhen(good.runId, (r) => r.steps[1]?.state === 'waiting')
    expect((await admin('POST', `/api/runs/${good.runId}/steps/2/approve`)).status).toBe(200)
    await succeed(callbackOf(await dispatched(good.runId, 3)))

    const { runId } = await push('acme/gated-broken', 'v2')
    const api = await dispatched(runId, '1.1')
    const ui = await webhooked(runId, '1.2')
    await runWhen(runId, (r) => r.steps[0]?.branches?.every((b) => b.state === 'running') === true)
    const broke = await report(callbackOf(api), {
      state: 'failure',
      description: '3 of 120 API tests failed',
      target_url: 'https://github.com/acme/api-tests/actions/runs/7',
    })
    expect(broke.status).toBe(200)
    // The other branch is no longer wanted: its report comes too late, and is kept as refused.
    expect((await report(ui.callback_url, { state: 'success' })).status).toBe(409)
    const failed = await run(runId)
    expect(failed).toMatchObject({
      state: 'failure',
      steps: [
        {
          state: 'failure',
          description: 'Branch 1 of 2 ended as failure (0 succeeded)',
          branches: [
            { name: '1.1', state: 'failure', description: '3 of 120 API tests failed' },
            {
              name: '1.2',
              state: 'cancelled',
              description: 'Stopped: the group ended as failure',
              callbacks: [{ state: 'success', outcome: 'step-ended' }],
            },
          ],
        },
        { state: 'skipped' },
        { state: 'skipped' },
      ],
    })

    const rollback = await dispatched(runId, 'on_failure.1')
    expect(rollback.clientPayload?.image).toMatchObject({
      tag: 'v2',
      previous: { reference: `${REGISTRY}/acme/gated-broken:v1`, digest: good.digest },
    })
    const notice = await eventually(() =>
      webhookNotices(runId).find((n) => n.type === 'hookchain.run.failure'),
    )
    expect(notice).toMatchObject({
      run: { id: runId, chain: 'gated', url: runPage(runId) },
      detail: 'Step 1.1 (acme/api-tests) ended as failure: 3 of 120 API tests failed',
    })
    // The refused report shows on the run page, under the branch it was for.
    await page.goto(`${t.url}/runs/${runId}`)
    expect(await page.locator('[id="step-1.2"]').textContent()).toContain(
      'arrived after the step had ended',
    )
  })
})

describe('a chain with an any group', () => {
  it('goes on at the first branch that succeeds and cancels the other', async () => {
    const { runId } = await push('acme/mirrored', 'v1')
    const eu = await dispatched(runId, '1.1')
    const us = await dispatched(runId, '1.2')
    expect([eu.repository, us.repository]).toEqual(['acme/mirror-eu', 'acme/mirror-us'])
    await runWhen(runId, (r) => r.steps[0]?.branches?.every((b) => b.state === 'running') === true)

    await succeed(callbackOf(us), 'mirrored to us-east')
    expect((await report(callbackOf(eu), { state: 'success' })).status).toBe(409)
    const announce = await dispatched(runId, 2)
    expect(await runWhen(runId, (r) => r.steps[1]?.state === 'running')).toMatchObject({
      state: 'running',
      steps: [
        {
          state: 'success',
          description: 'Branch 2 of 2 succeeded',
          branches: [
            { state: 'cancelled', description: 'Not needed: branch 2 already succeeded' },
            { state: 'success' },
          ],
        },
        { state: 'running' },
      ],
    })
    await succeed(callbackOf(announce))
    expect((await run(runId)).state).toBe('success')
  })

  it('fails only once every branch has', async () => {
    const { runId } = await push('acme/mirrored', 'v2')
    const eu = await dispatched(runId, '1.1')
    const us = await dispatched(runId, '1.2')
    await runWhen(runId, (r) => r.steps[0]?.branches?.every((b) => b.state === 'running') === true)
    await report(callbackOf(eu), { state: 'error', description: 'eu registry down' })
    expect((await run(runId)).steps[0]).toMatchObject({
      state: 'running',
      branches: [{ state: 'error' }, { state: 'running' }],
    })
    await report(callbackOf(us), { state: 'failure', description: 'quota exceeded' })
    expect(await run(runId)).toMatchObject({
      state: 'failure',
      steps: [
        { state: 'failure', description: 'None of the 2 branches succeeded' },
        { state: 'skipped' },
      ],
    })
    expect(dispatchesOf(runId, 2)).toEqual([])
    const failed = await eventually(() =>
      slackNotices(runId).find((m) => m.shown.includes('mirrors failed')),
    )
    expect(failed.problems).toEqual([])
  })
})

describe('a run cancelled on its page', () => {
  it('ends its running branches as cancelled, sends nothing more, and tells only who asked', async () => {
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.push_data.tag = 'cancel-me'
    body.callback_url = `${registry.url}/u/svendowideit/testhook/hook/cancelled/`
    const answer = await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, body)
    const [runId] = ((await answer.json()) as { runs: string[] }).runs as [string]
    const scan = await dispatched(runId, '1.1')
    const smoke = await dispatched(runId, '1.2')
    await succeed(callbackOf(scan), 'no CVE')
    await runWhen(runId, (r) => r.steps[0]?.branches?.[1]?.state === 'running')

    await page.goto(`${t.url}/runs/${runId}`)
    await pressAndReload(page.getByRole('button', { name: 'Cancel the run' }), runId)
    expect(await page.locator('#why').textContent()).toBe('Why it stopped')
    expect(await page.getByRole('button', { name: 'Cancel the run' }).count()).toBe(0)
    expect(await run(runId)).toMatchObject({
      state: 'cancelled',
      steps: [
        {
          state: 'cancelled',
          description: 'Cancelled by alice',
          branches: [
            { state: 'success', description: 'no CVE' },
            { state: 'cancelled', description: 'Cancelled by alice' },
          ],
        },
        { state: 'skipped' },
      ],
    })
    // The cancelled branch's token no longer moves anything.
    expect((await report(callbackOf(smoke), { state: 'success' })).status).toBe(409)

    const told = await eventually(() =>
      slackNotices(runId).find((m) => m.shown.includes('was cancelled')),
    )
    expect(told.shown).toContain('hub was cancelled for docker.io/svendowideit/testhook:cancel-me')
    // Past a few polls of the outbox: nothing else went out for this run.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(dispatchesOf(runId, 2)).toEqual([])
    expect(dispatchesOf(runId, 'on_failure.1')).toEqual([])
    expect(registry.requests).toEqual([])
    expect(webhookNotices(runId)).toEqual([])
    expect(slackNotices(runId)).toHaveLength(1)
  })
})

describe('notification targets that fail', () => {
  it('are tried again, and never hold the chain up', async () => {
    // Slack breaks, then asks to wait a second; the webhook target hangs once, then is busy.
    noisySlack.failNext(1, { status: 500, error: 'rollup_error' })
    noisySlack.failNext(1, { status: 429, error: 'rate_limited', retryAfterSeconds: 1 })
    noisyReceiver.replyNext(1, { hang: true })
    noisyReceiver.replyNext(1, { status: 503, body: 'busy' })

    const { runId } = await push('acme/noisy', 'v1')
    await passGroup(runId)
    await runWhen(runId, (r) => r.steps[1]?.state === 'waiting')
    // The approval's notifications are still being tried; the chain does not wait for them.
    await eventually(() => (noisySlack.messages.some((m) => m.status === 429) ? true : undefined))
    expect((await admin('POST', `/api/runs/${runId}/steps/2/approve`)).status).toBe(200)
    await succeed(callbackOf(await dispatched(runId, 3)), 'deployed')
    expect((await run(runId)).state).toBe('success')
    // Slack has not taken the approval's message yet, and the run is over all the same.
    expect(noisySlack.posted().filter((m) => m.shown.includes('waits for an approval'))).toEqual([])

    const delivered = await eventually(() => {
      const slackSaid = slackNotices(runId, noisySlack)
      const webhookSaid = webhookNotices(runId, noisyReceiver)
      return slackSaid.length >= 2 && webhookSaid.length >= 4
        ? { slackSaid, webhookSaid }
        : undefined
    }, 10_000)
    expect(delivered.slackSaid.map((m) => m.shown.split('\n')[0]).sort()).toEqual([
      'noisy succeeded for 127.0.0.1:5055/acme/noisy:v1',
      'noisy waits for an approval for 127.0.0.1:5055/acme/noisy:v1',
    ])
    for (const message of delivered.slackSaid) expect(message.problems).toEqual([])
    // The webhook target got four requests (one hung, one answered 503, two taken): each
    // notification the same message each time it was tried, the approval tried again at least once.
    const tried = delivered.webhookSaid
    expect(tried).toHaveLength(4)
    const approvals = tried.filter((n) => n.type === 'hookchain.run.approval')
    const successes = tried.filter((n) => n.type === 'hookchain.run.success')
    expect(approvals.length).toBeGreaterThanOrEqual(2)
    expect(approvals.length + successes.length).toBe(4)
    expect(new Set(approvals.map((n) => n.id)).size).toBe(1)
    expect(new Set(successes.map((n) => n.id)).size).toBe(1)
    expect(approvals[0]?.id).not.toBe(successes[0]?.id)
    // The receivers have answered; the relay records each answer just after, so wait for the last.
    const history = await eventually(async () => {
      const current = await run(runId)
      const answered = current.notifications.filter((n) => n.status === 200).length
      return current.notifications.length >= 7 && answered >= 4 ? current : undefined
    })
    const outcomes = history.notifications.map((n) => n.status ?? n.error)
    expect(outcomes.filter((o) => o === 200)).toHaveLength(4)
    expect(outcomes).toEqual(
      expect.arrayContaining([500, 429, 503, expect.stringMatching(/did not answer within 1 s/)]),
    )
    expect(history.state).toBe('success')
  }, 20_000)

  it('loaded every page without errors', () => {
    expect(trouble).toEqual([])
  })
})
