import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Chain, Settings } from '../../src/relay/config/settings.js'
import type { RunJson } from '../../src/relay/http/representation.js'
import { type Relay, startRelay } from '../../src/relay/main.js'
import { eventually, listedRegistriesOnly, SECRETS, testSettings } from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type LocalOidcIssuer, startOidcIssuer } from '../support/oidc-issuer.js'
import { type OidcTokenStandIn, startOidcTokenStandIn } from '../support/oidc-token-stand-in.js'
import { buildDist, type DistRunner, distRunner, errorLines } from './dist-run.js'

// Start mode as the runner runs it (the built dist/index.js) against a real relay: its OIDC
// token comes from a stand-in of the runner's token endpoint, signed by a local issuer that the
// relay verifies it against; the chain's steps are dispatched to the GitHub stand-in, and the
// test reports for them as their workflows would.

const REPOSITORY = 'acme/app'
const SHA = '8f14e45fceea167a5a36dedd4bea2543a1b2c3d4'
const IMAGE = `ghcr.io/acme/app@sha256:${'ab'.repeat(32)}`

const release: Chain = {
  name: 'release',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  start: { repositories: [REPOSITORY] },
  steps: [
    { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}
const pushOnly: Chain = { ...release, name: 'push-only', start: null }

let runner: DistRunner
let issuer: LocalOidcIssuer
let oidc: OidcTokenStandIn
let github: GitHubStandIn
let dir: string
let settings: Settings
let relay: Relay | undefined

beforeAll(async () => {
  runner = distRunner()
  buildDist()
  issuer = await startOidcIssuer()
  oidc = await startOidcTokenStandIn({ repository: REPOSITORY, sha: SHA, issuer })
  github = await startGitHubStandIn()
  dir = mkdtempSync(join(tmpdir(), 'hookchain-start-relay-'))
  settings = testSettings(github.url, { chains: [release, pushOnly] })
  settings.github.oidc = { issuer: issuer.url, audience: 'hookchain' }
}, 60_000)
afterAll(async () => {
  await relay?.close()
  await github.close()
  await oidc.close()
  await issuer.close()
  runner.remove()
  rmSync(dir, { recursive: true, force: true })
})
afterEach(async () => {
  await relay?.close()
  relay = undefined
})

/** A relay on SQLite in `dir`; on `port` to start one again where the last one was. */
async function serve(database: string, port = 0): Promise<Relay> {
  relay = await startRelay({
    settings,
    databaseUrl: `sqlite:${join(dir, database)}`,
    port,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    images: listedRegistriesOnly(settings),
    outbox: { pollMs: 20, retryDelay: () => 50 },
  })
  return relay
}

function startAction(url: string, inputs: Record<string, string>, variables = {}) {
  return runner.run(
    { 'relay-url': url, chain: 'release', image: IMAGE, ...inputs },
    {
      variables: {
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_SHA: SHA,
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
        ...variables,
      },
    },
  )
}

/** The one run of the relay, once it exists. */
async function theRun(on: Relay): Promise<RunJson> {
  return eventually(async () => {
    const response = await fetch(`${on.url}/api/runs`, {
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    const { runs } = (await response.json()) as { runs: RunJson[] }
    return runs[0]
  }, 10_000)
}

/** What the workflow of step `step` of the run reports, once it was dispatched. */
async function report(on: Relay, runId: string, step: number, body: Record<string, unknown>) {
  const dispatch = await eventually(
    () =>
      github.dispatches.find(
        (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
      ),
    10_000,
  )
  const url = String(dispatch.clientPayload?.callback_url).replace(on.publicUrl, on.url)
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(200)
}

describe('start mode against a real relay', () => {
  it('starts the chain and sets the outputs', async () => {
    const on = await serve('start-only.db')
    const result = await startAction(on.url, {})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const run = await theRun(on)
    expect(run).toMatchObject({
      chain: 'release',
      source: 'workflow',
      image: { reference: IMAGE },
      source_commit: { repository: REPOSITORY, sha: SHA, from: 'start-request' },
      origin: { kind: 'workflow', repository: REPOSITORY },
    })
    expect(result.outputs).toEqual({
      'run-id': run.id,
      'run-url': `http://relay.test/runs/${run.id}`,
      'chain-state': 'running',
    })
  })

  it('waits for the chain to succeed, printing each step as it ends', async () => {
    const on = await serve('success.db')
    const action = startAction(on.url, { wait: 'true' })
    const run = await theRun(on)
    await report(on, run.id, 1, {
      state: 'success',
      description: '387 tests PASSED',
      target_url: 'https://github.com/acme/integration-tests/actions/runs/11',
    })
    await report(on, run.id, 2, { state: 'success', description: 'Deployed' })
    const result = await action
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines).toContain(
      'Step 1/2 acme/integration-tests: success – 387 tests PASSED – https://github.com/acme/integration-tests/actions/runs/11',
    )
    expect(lines).toContain('Step 2/2 acme/deploy: success – Deployed')
    expect(lines).toContain(`Chain "release" succeeded: http://relay.test/runs/${run.id}`)
    expect(result.outputs['chain-state']).toBe('success')
    expect(result.summary).toContain('<h3>hookchain chain release: <code>success</code></h3>')
  })

  it('fails the step when the chain fails, naming the step that stopped it', async () => {
    const on = await serve('failure.db')
    const action = startAction(on.url, { wait: 'true' })
    const run = await theRun(on)
    await report(on, run.id, 1, { state: 'failure', description: '3 of 390 tests FAILED' })
    const result = await action
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      `::error::Chain "release" failed at step 1/2 acme/integration-tests: failure – 3 of 390 tests FAILED. See http://relay.test/runs/${run.id}`,
    ])
    expect(result.outputs['chain-state']).toBe('failure')
    expect(result.summary).toContain('<td>acme/deploy</td><td><code>skipped</code></td>')
  })

  it('fails the step when the chain has not ended within wait-minutes', async () => {
    const on = await serve('timeout.db')
    const action = startAction(on.url, { wait: 'true', 'wait-minutes': '0.03' })
    const run = await theRun(on)
    await report(on, run.id, 1, { state: 'pending', description: 'Tests running' })
    const result = await action
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      `::error::Chain "release" did not end within 0.03 minutes: it is still running at step 1/2 acme/integration-tests: pending – Tests running. See http://relay.test/runs/${run.id}`,
    ])
    expect(result.seconds).toBeGreaterThan(1.8)
    expect(result.seconds).toBeLessThan(6)
  })

  it('fails with one line, and starts nothing, when the job may not get an OIDC token', async () => {
    const on = await serve('no-token.db')
    const result = await startAction(
      on.url,
      { wait: 'true' },
      { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' },
    )
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      '::error::This job cannot get an OIDC token, which the relay needs to know who starts the chain: give the job `permissions: id-token: write` (a pull request from a fork never gets one).',
    ])
    const response = await fetch(`${on.url}/api/runs`, {
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(((await response.json()) as { runs: unknown[] }).runs).toEqual([])
  })

  it("fails at once, in the relay's words, for a chain without start", async () => {
    const on = await serve('no-start.db')
    const result = await startAction(on.url, { chain: 'push-only' })
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      '::error::Could not start chain "push-only": HTTP 403 Forbidden: Chain "push-only" has no start, so no workflow may start it: add start: { repositories: [acme/app] } to it in the relay config.',
    ])
  })

  it('goes on waiting through a restart of the relay, and sees the chain end', async () => {
    const first = await serve('restart.db')
    const { port } = new URL(first.url)
    const action = startAction(first.url, { wait: 'true' })
    const run = await theRun(first)
    await report(first, run.id, 1, { state: 'success', description: '387 tests PASSED' })
    // The Action is holding a poll by now; the relay answers it as it stops.
    await new Promise((resolve) => setTimeout(resolve, 500))
    await first.close()
    relay = undefined
    await new Promise((resolve) => setTimeout(resolve, 300))
    const second = await serve('restart.db', Number(port))
    await report(second, run.id, 2, { state: 'success', description: 'Deployed' })
    const result = await action
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/ECONNREFUSED/)
    expect(result.stdout).toMatch(/^Attempt \d+: .*; retrying in [\d.]+ s\.$/m)
    expect(result.stdout).toContain(`Chain "release" succeeded: http://relay.test/runs/${run.id}`)
    expect(result.outputs['chain-state']).toBe('success')
  })
})
