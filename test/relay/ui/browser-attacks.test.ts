// What a page on another site can make a real browser do to the relay: post a form with the
// admin's cached credentials, or read the API after rebinding its own name to 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { CHROMIUM_FLAGS, findChromium } from '../../support/browser.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { type LoopbackServer, startLoopbackServer } from '../../support/loopback-server.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
  twoSteps,
} from '../relay-harness.js'

let github: GitHubStandIn
let relay: TestRelay
let open: TestRelay
let attacker: LoopbackServer
/** A run whose first dispatch was refused for good: it can be retried. */
let runId: string
/** The event that started it: it can be delivered again. */
let eventId: string
/** A run whose first step is dispatched and waits for its report: it can be cancelled. */
let runningId: string
/** Runs waiting at an approval: each can be approved or rejected. */
let approveId: string
let rejectId: string

/** Pushes of acme/gate wait for a person, then deploy. */
const gate: Chain = {
  name: 'gate',
  match: { repository: 'acme/gate', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'approval', timeoutMs: 3_600_000 },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}
const contexts: { context: BrowserContext; profile: string }[] = []

async function browser(args: string[] = [], auth = false): Promise<BrowserContext> {
  const found = await findChromium()
  const profile = mkdtempSync(join(tmpdir(), 'hookchain-attack-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: found.executablePath,
    env: { ...process.env, ...found.env },
    args: [...CHROMIUM_FLAGS, ...args],
    // On every request, as a browser that cached the admin's basic-auth login sends it.
    ...(auth
      ? {
          extraHTTPHeaders: {
            authorization: `Basic ${Buffer.from(`admin:${SECRETS.admin}`).toString('base64')}`,
          },
        }
      : {}),
  })
  contexts.push({ context, profile })
  return context
}

beforeAll(async () => {
  github = await startGitHubStandIn()
  relay = await startTestRelay(testSettings(github.url, { chains: [twoSteps, gate] }))
  open = await startTestRelay(testSettings(github.url, { adminToken: null }))
  // A run that can be retried: its first dispatch is refused for good.
  github.fail(1, { status: 404 })
  const answer = await relay.post(
    `/hooks/dockerhub/${SECRETS.dockerhub}`,
    fixture('dockerhub-push.json'),
  )
  ;({
    runs: [runId = ''],
    event_id: eventId,
  } = (await answer.json()) as { runs: string[]; event_id: string })
  await eventually(async () => {
    const run = await relay.api<RunJson>(`/api/runs/${runId}`)
    return run.state === 'error' ? run : undefined
  })
  const push = JSON.parse(fixture('dockerhub-push.json'))
  push.push_data.tag = 'v2'
  const running = await relay.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, push)
  runningId = ((await running.json()) as { runs: string[] }).runs[0] ?? ''
  await eventually(async () => {
    const run = await relay.api<RunJson>(`/api/runs/${runningId}`)
    return run.steps[0]?.state === 'running' ? run : undefined
  })
  const gated = async (tag: string) => {
    const body = { repository: 'acme/gate', docker_url: 'quay.io/acme/gate', updated_tags: [tag] }
    const answered = await relay.post(`/hooks/quay/${SECRETS.quay}`, body)
    return ((await answered.json()) as { runs: string[] }).runs[0] ?? ''
  }
  approveId = await gated('a1')
  rejectId = await gated('a2')
  // The other site: one page that posts a form to the relay as soon as it loads.
  attacker = await startLoopbackServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://attacker')
    const action = url.searchParams.get('action') ?? ''
    const enctype = url.searchParams.get('enctype') ?? 'application/x-www-form-urlencoded'
    response.writeHead(200, { 'content-type': 'text/html' })
    response.end(
      `<!doctype html><form method="post" enctype="${enctype}" action="${action}"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`,
    )
  })
})

afterAll(async () => {
  for (const { context, profile } of contexts) {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
  await Promise.all([relay?.close(), open?.close(), attacker?.close()])
  await github?.close()
})

/** What each of the relay's buttons may change, read back to see that an attack changed nothing. */
async function snapshot() {
  const run = (id: string) => relay.api<RunJson>(`/api/runs/${id}`)
  const [retried, running, approving, rejecting, event, tests] = await Promise.all([
    run(runId),
    run(runningId),
    run(approveId),
    run(rejectId),
    relay.api<{ runs: string[] }>(`/api/events/${eventId}`),
    relay.api<{ events: unknown[] }>('/api/events?source=test'),
  ])
  return {
    retried: [retried.state, retried.steps[0]?.generation],
    running: running.state,
    approving: approving.steps[0]?.state,
    rejecting: rejecting.steps[0]?.state,
    redelivered: event.runs.length,
    tests: tests.events.length,
    dispatches: github.dispatches.length,
  }
}

describe('a page on another site, in a browser where the admin is signed in', () => {
  it.each([
    [
      'the run page’s retry form',
      () => `/runs/${runId}/retry`,
      'application/x-www-form-urlencoded',
    ],
    ['the API, as a form', () => `/api/runs/${runId}/retry`, 'application/x-www-form-urlencoded'],
    ['the API, as text/plain', () => `/api/runs/${runId}/retry`, 'text/plain'],
    [
      'the run page’s cancel form',
      () => `/runs/${runningId}/cancel`,
      'application/x-www-form-urlencoded',
    ],
    [
      'the approve form',
      () => `/runs/${approveId}/steps/1/approve`,
      'application/x-www-form-urlencoded',
    ],
    ['the reject form', () => `/runs/${rejectId}/steps/1/reject`, 'multipart/form-data'],
    [
      'the event page’s Deliver again',
      () => `/events/${eventId}/redeliver`,
      'application/x-www-form-urlencoded',
    ],
    ['the chains page’s test event', () => '/chains/release/test', 'text/plain'],
    [
      'the API’s redeliver, as a form',
      () => `/api/events/${eventId}/redeliver`,
      'application/x-www-form-urlencoded',
    ],
  ])('cannot act through %s', async (_, path, enctype) => {
    const context = await browser([], true)
    const page = context.pages()[0] ?? (await context.newPage())
    // The admin opened the history: the browser now holds the credentials for the relay.
    expect((await page.goto(`${relay.url}/runs/${runId}`))?.status()).toBe(200)
    const before = await snapshot()
    const target = `${relay.url}${path()}`
    const answered = page.waitForResponse((response) => response.url() === target)
    await page.goto(
      `${attacker.url}/?action=${encodeURIComponent(target)}&enctype=${encodeURIComponent(enctype)}`,
    )
    const response = await answered
    expect([403, 415]).toContain(response.status())
    expect(await response.request().headerValue('authorization')).toMatch(/^Basic /)
    expect(await snapshot()).toEqual(before)
  })

  it("still does each from the relay's own pages", async () => {
    const context = await browser([], true)
    const page = context.pages()[0] ?? (await context.newPage())
    const sent = github.dispatches.length

    await page.goto(`${relay.url}/runs/${runId}`)
    await page.getByRole('button', { name: /Retry from step 1/ }).click()
    await page.waitForURL(`${relay.url}/runs/${runId}`)
    await eventually(() =>
      github.dispatches.some((d) => d.clientPayload?.run_id === runId) ? true : undefined,
    )

    await page.goto(`${relay.url}/runs/${runningId}`)
    await page.getByRole('button', { name: 'Cancel the run' }).click()
    await page.waitForURL(`${relay.url}/runs/${runningId}`)
    expect(await page.locator('.page-head .badge').first().textContent()).toContain('cancelled')
    expect((await relay.api<RunJson>(`/api/runs/${runningId}`)).state).toBe('cancelled')

    await page.goto(`${relay.url}/runs/${approveId}`)
    await page.getByLabel('Comment').fill('ship it')
    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForURL(`${relay.url}/runs/${approveId}`)
    const approved = await relay.api<RunJson>(`/api/runs/${approveId}`)
    expect(approved.steps[0]).toMatchObject({
      state: 'success',
      decision: { approved: true, by: 'admin', comment: 'ship it' },
    })
    await eventually(() =>
      github.dispatches.some((d) => d.clientPayload?.run_id === approveId) ? true : undefined,
    )

    await page.goto(`${relay.url}/runs/${rejectId}`)
    await page.getByRole('button', { name: 'Reject' }).click()
    await page.waitForURL(`${relay.url}/runs/${rejectId}`)
    expect((await relay.api<RunJson>(`/api/runs/${rejectId}`)).state).toBe('failure')

    await page.goto(`${relay.url}/events/${eventId}`)
    expect(await page.locator('form.redeliver p').textContent()).toContain(
      'Starts release for docker.io/svendowideit/testhook:latest',
    )
    await page.getByRole('button', { name: 'Deliver again' }).click()
    await page.waitForURL(`${relay.url}/events/${eventId}`)
    const again = await relay.api<{ runs: string[] }>(`/api/events/${eventId}`)
    expect(again.runs).toHaveLength(2)
    expect(await page.locator(`a[href="/runs/${again.runs[1]}"]`).count()).toBe(1)

    expect(github.dispatches.length).toBeGreaterThan(sent)
  })

  it('sends a test event from the chains page, which runs the chain through the real path', async () => {
    const context = await browser([], true)
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${relay.url}/chains`)
    expect(await page.locator('#chain-release').textContent()).toContain('acme/integration-tests')
    await page.locator('#chain-release').getByRole('button', { name: 'Send a test event' }).click()
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
    const id = page.url().split('/').at(-1) ?? ''
    expect(await page.locator('.page-head').textContent()).toContain('test')
    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === id),
    )
    expect(dispatch.clientPayload).toMatchObject({
      chain: 'release',
      source: 'test',
      step: 1,
      image: { registry: 'registry.hookchain.test', repository: 'svendowideit/testhook' },
    })
    const run = await relay.api<RunJson>(`/api/runs/${id}`)
    expect(run).toMatchObject({ source: 'test', pusher: 'admin' })
    await page.goto(`${relay.url}/events?source=test`)
    expect(await page.locator('tr[data-event]').count()).toBe(1)
  })
})

describe('a page whose name was rebound to 127.0.0.1, on a relay without an admin token', () => {
  it('cannot read the API or the pages, which answer at 127.0.0.1 all the same', async () => {
    const { port } = new URL(open.url)
    const context = await browser(['--host-resolver-rules=MAP rebound.example 127.0.0.1'])
    const page = context.pages()[0] ?? (await context.newPage())
    for (const path of ['/api/runs', '/', '/events']) {
      const rebound = await page.goto(`http://rebound.example:${port}${path}`)
      expect(rebound?.status(), path).toBe(403)
      expect(await rebound?.text()).toContain('untrusted-host')
      expect((await page.goto(`http://127.0.0.1:${port}${path}`))?.status(), path).toBe(200)
    }
  })
})
