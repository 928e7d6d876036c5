// What a page on another site can make a real browser do to the relay: post a form with the
// admin's cached credentials, or read the API after rebinding its own name to 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
} from '../relay-harness.js'

let github: GitHubStandIn
let relay: TestRelay
let open: TestRelay
let attacker: LoopbackServer
let runId: string
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
  relay = await startTestRelay(testSettings(github.url))
  open = await startTestRelay(testSettings(github.url, { adminToken: null }))
  // A run that can be retried: its first dispatch is refused for good.
  github.fail(1, { status: 404 })
  const answer = await relay.post(
    `/hooks/dockerhub/${SECRETS.dockerhub}`,
    fixture('dockerhub-push.json'),
  )
  runId = ((await answer.json()) as { runs: string[] }).runs[0] ?? ''
  await eventually(async () => {
    const run = await relay.api<RunJson>(`/api/runs/${runId}`)
    return run.state === 'error' ? run : undefined
  })
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

describe('a page on another site, in a browser where the admin is signed in', () => {
  it.each([
    ['the run page’s retry form', '/runs/{id}/retry', 'application/x-www-form-urlencoded'],
    ['the API, as a form', '/api/runs/{id}/retry', 'application/x-www-form-urlencoded'],
    ['the API, as text/plain', '/api/runs/{id}/retry', 'text/plain'],
  ])('cannot retry a run through %s', async (_, path, enctype) => {
    const context = await browser([], true)
    const page = context.pages()[0] ?? (await context.newPage())
    // The admin opened the history: the browser now holds the credentials for the relay.
    expect((await page.goto(`${relay.url}/runs/${runId}`))?.status()).toBe(200)
    const before = await relay.api<RunJson>(`/api/runs/${runId}`)
    const target = `${relay.url}${path.replace('{id}', runId)}`
    const answered = page.waitForResponse((response) => response.url() === target)
    await page.goto(
      `${attacker.url}/?action=${encodeURIComponent(target)}&enctype=${encodeURIComponent(enctype)}`,
    )
    const response = await answered
    expect([403, 415]).toContain(response.status())
    expect(await response.request().headerValue('authorization')).toMatch(/^Basic /)
    const after = await relay.api<RunJson>(`/api/runs/${runId}`)
    expect(after.state).toBe('error')
    expect(after.steps[0]?.generation).toBe(before.steps[0]?.generation)
    expect(github.dispatches).toHaveLength(0)
  })

  it("still retries the run from the relay's own page", async () => {
    const context = await browser([], true)
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${relay.url}/runs/${runId}`)
    await page.getByRole('button', { name: /Retry from step 1/ }).click()
    await page.waitForURL(`${relay.url}/runs/${runId}`)
    await eventually(() => (github.dispatches.length === 1 ? true : undefined))
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
