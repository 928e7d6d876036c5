import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChainRelayStandIn,
  type StandInRun,
  type StandInStep,
  startChainRelayStandIn,
} from '../support/chain-relay-stand-in.js'
import { type OidcTokenStandIn, startOidcTokenStandIn } from '../support/oidc-token-stand-in.js'
import { buildDist, type DistRunner, distRunner, errorLines } from './dist-run.js'

// Start mode as the runner runs it: the built dist/index.js, against a stand-in of the runner's
// OIDC token endpoint and a stand-in relay on 127.0.0.1, whose run advances when a test says.

const SIGNING_KEY = 'stand-in-signing-key'
const REPOSITORY = 'acme/app'
const SHA = '8f14e45fceea167a5a36dedd4bea2543a1b2c3d4'
const DIGEST = `sha256:${'ab'.repeat(32)}`
const IMAGE = `ghcr.io/acme/app@${DIGEST}`
const RELEASE = {
  startRepositories: [REPOSITORY],
  steps: [
    { kind: 'dispatch', target: 'acme/integration-tests' },
    { kind: 'dispatch', target: 'acme/deploy' },
  ],
}

let runner: DistRunner
let oidc: OidcTokenStandIn
let relay: ChainRelayStandIn | undefined

beforeAll(async () => {
  runner = distRunner()
  buildDist()
  oidc = await startOidcTokenStandIn({ repository: REPOSITORY, sha: SHA, signingKey: SIGNING_KEY })
}, 60_000)
afterAll(async () => {
  await oidc.close()
  runner.remove()
})
afterEach(async () => {
  await relay?.stop()
  relay = undefined
})

async function startRelay(options: { audience?: string } = {}): Promise<ChainRelayStandIn> {
  relay = await startChainRelayStandIn({
    chains: { release: RELEASE, 'push-only': { steps: RELEASE.steps } },
    signingKey: SIGNING_KEY,
    ...options,
  })
  return relay
}

function startAction(inputs: Record<string, string>, variables: Record<string, string> = {}) {
  return runner.run(
    { 'relay-url': relay?.url ?? '', chain: 'release', image: IMAGE, ...inputs },
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

/** What the relay's engine does when a step's workflow reports. */
function report(step: StandInStep, state: string, description: string, run: number): void {
  step.state = state
  step.description = description
  step.context = 'CI / test'
  step.target_url = `https://github.com/${step.target}/actions/runs/${run}`
  step.finished_at = new Date().toISOString()
}

function step(run: StandInRun, index: number): StandInStep {
  const found = run.steps[index - 1]
  if (!found) throw new Error(`no step ${index}`)
  return found
}

describe('start mode of dist/index.js', () => {
  it('starts the chain for the image and this run’s commit, and sets the outputs', async () => {
    const stand = await startRelay()
    const result = await startAction({})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)

    expect(oidc.audiences.at(-1)).toBe('hookchain')
    const posts = stand.requests.filter((request) => request.method === 'POST')
    expect(posts).toHaveLength(1)
    expect(posts[0]?.path).toBe('/api/chains/release/runs')
    expect(posts[0]?.headers).toMatchObject({
      authorization: `Bearer ${oidc.issued.at(-1)?.token}`,
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^hookchain-action\//),
    })
    expect(JSON.parse(posts[0]?.body ?? '')).toEqual({
      image: IMAGE,
      source: { repository: REPOSITORY, sha: SHA },
    })
    // Without wait, the run is not read.
    expect(stand.requests).toHaveLength(1)

    const run = stand.runs[0]
    const runUrl = `${stand.url}/runs/${run?.id}`
    expect(result.outputs).toEqual({
      'run-id': run?.id,
      'run-url': runUrl,
      'chain-state': 'running',
    })
    expect(result.stdout).toContain(`Chain "release" started: ${runUrl}`)
    expect(result.summary).toContain('<h3>hookchain chain release: <code>running</code></h3>')
    expect(result.summary).toContain('<td>acme/deploy</td><td><code>queued</code></td>')
    expect(result.stdout).not.toContain('::warning::')
  })

  it('masks the OIDC token and the run token before anything could show them', async () => {
    const stand = await startRelay()
    const result = await startAction({ wait: 'true', 'wait-minutes': '0.01' })
    const idToken = oidc.issued.at(-1)?.token ?? ''
    const runToken = (stand.requests[1]?.headers.authorization ?? '').replace('Bearer ', '')
    expect(runToken).toMatch(/^rt_/)
    const lines = result.stdout.split('\n')
    const masked = (secret: string) => lines.indexOf(`::add-mask::${secret}`)
    expect(masked(idToken)).toBeGreaterThanOrEqual(0)
    expect(masked(runToken)).toBeGreaterThan(masked(idToken))
    const before = lines.slice(0, masked(runToken)).join('\n')
    expect(before).not.toContain(runToken)
    expect(lines.filter((line) => line.includes(idToken))).toHaveLength(1)
  })

  it('waits for the chain, prints each step as it ends, and passes when it succeeds', async () => {
    const stand = await startRelay()
    const action = startAction({ wait: 'true' })
    const run = await stand.waitForRun()
    await stand.waitForHeldPolls(1)
    stand.update(run.id, (r) => {
      report(step(r, 1), 'success', '387 tests PASSED', 11)
      step(r, 2).state = 'running'
    })
    await stand.waitForHeldPolls(2)
    stand.update(run.id, (r) => {
      report(step(r, 2), 'success', 'Deployed', 12)
      r.state = 'success'
    })
    const result = await action
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const runUrl = `${stand.url}/runs/${run.id}`
    const lines = result.stdout.split('\n')
    expect(lines).toContain(
      'Step 1/2 acme/integration-tests: success – 387 tests PASSED – https://github.com/acme/integration-tests/actions/runs/11',
    )
    expect(lines).toContain(
      'Step 2/2 acme/deploy: success – Deployed – https://github.com/acme/deploy/actions/runs/12',
    )
    expect(lines).toContain(`Chain "release" succeeded: ${runUrl}`)
    expect(result.outputs).toEqual({
      'run-id': run.id,
      'run-url': runUrl,
      'chain-state': 'success',
    })
    expect(result.summary).toContain('<h3>hookchain chain release: <code>success</code></h3>')
    expect(result.summary).toContain(
      '<td>2/2</td><td>acme/deploy</td><td><code>success</code></td><td>Deployed</td>' +
        '<td><a href="https://github.com/acme/deploy/actions/runs/12">',
    )
    // Every poll after the first waited for a change with the last ETag it saw.
    const polls = stand.requests.filter((request) => request.method === 'GET')
    expect(polls.length).toBeGreaterThanOrEqual(3)
    expect(polls[0]?.headers['if-none-match']).toBeUndefined()
    for (const poll of polls.slice(1)) expect(poll.headers['if-none-match']).toMatch(/^"run_/)
    expect(polls.every((poll) => /\?wait=(60|59)$/.test(poll.path))).toBe(true)
  })

  it('fails the step when the chain fails, naming the step that stopped it', async () => {
    const stand = await startRelay()
    const action = startAction({ wait: 'true' })
    const run = await stand.waitForRun()
    await stand.waitForHeldPolls(1)
    stand.update(run.id, (r) => {
      report(step(r, 1), 'failure', '3 of 390 tests FAILED', 13)
      step(r, 2).state = 'skipped'
      r.state = 'failure'
    })
    const result = await action
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      `::error::Chain "release" failed at step 1/2 acme/integration-tests: failure – 3 of 390 tests FAILED – https://github.com/acme/integration-tests/actions/runs/13. See ${stand.url}/runs/${run.id}`,
    ])
    expect(result.outputs['chain-state']).toBe('failure')
    expect(result.summary).toContain('<td>acme/deploy</td><td><code>skipped</code></td>')
  })

  it('fails the step when the chain has not ended within wait-minutes', async () => {
    const stand = await startRelay()
    const action = startAction({ wait: 'true', 'wait-minutes': '0.03' })
    const run = await stand.waitForRun()
    await stand.waitForHeldPolls(1)
    stand.update(run.id, (r) => {
      step(r, 1).state = 'pending'
      step(r, 1).description = 'Tests running'
    })
    const result = await action
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      `::error::Chain "release" did not end within 0.03 minutes: it is still running at step 1/2 acme/integration-tests: pending – Tests running. See ${stand.url}/runs/${run.id}`,
    ])
    expect(result.outputs['chain-state']).toBe('running')
    // 1.8 s of waiting, and at most one more second for the last long poll to end.
    expect(result.seconds).toBeGreaterThan(1.8)
    expect(result.seconds).toBeLessThan(6)
  })

  it('goes on waiting through a restart of the relay', async () => {
    const stand = await startRelay()
    const action = startAction({ wait: 'true' })
    const run = await stand.waitForRun()
    await stand.waitForHeldPolls(1)
    await stand.stop()
    stand.update(run.id, (r) => {
      report(step(r, 1), 'success', '387 tests PASSED', 14)
      report(step(r, 2), 'success', 'Deployed', 15)
      r.state = 'success'
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const before = stand.requests.length
    await stand.start()
    const result = await action
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^Attempt 1: .*; retrying in [\d.]+ s\.$/m)
    expect(result.stdout).toMatch(/ECONNREFUSED/)
    expect(stand.requests.length).toBeGreaterThan(before)
    expect(result.stdout).toContain(`Chain "release" succeeded: ${stand.url}/runs/${run.id}`)
    expect(result.outputs['chain-state']).toBe('success')
  })

  it('fails with one line when the job may not get an OIDC token', async () => {
    const stand = await startRelay()
    const result = await startAction(
      { wait: 'true' },
      { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' },
    )
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      '::error::This job cannot get an OIDC token, which the relay needs to know who starts the chain: give the job `permissions: id-token: write` (a pull request from a fork never gets one).',
    ])
    expect(stand.requests).toEqual([])
  })

  it.each([
    [
      'a chain without start',
      { chain: 'push-only' },
      'Could not start chain "push-only": HTTP 403 Forbidden: Chain "push-only" has no start.',
    ],
    [
      'an unknown chain',
      { chain: 'nightly' },
      'Could not start chain "nightly": HTTP 404 Not Found: No chain is named "nightly".',
    ],
    [
      'another audience',
      { audience: 'relay.example.com' },
      'Could not start chain "release": HTTP 401 Unauthorized: The token was not accepted: its audience must be "hookchain". Check that the audience input ("relay.example.com") equals the relay\'s github.oidc.audience.',
    ],
  ])('fails at once, quoting the relay, for %s', async (_name, inputs, message) => {
    const stand = await startRelay()
    const result = await startAction(inputs)
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([`::error::${message}`])
    expect(stand.requests).toHaveLength(1)
  })

  it('retries the start on 503 and 429, then starts the chain', async () => {
    const stand = await startRelay()
    stand.failNext(1, 503)
    stand.failNext(1, 429)
    const result = await startAction({})
    expect(result.exitCode).toBe(0)
    expect(stand.requests).toHaveLength(3)
    expect(result.stdout).toContain(
      'Attempt 1 of 4: HTTP 503 Service Unavailable: Try again.; retrying in',
    )
    expect(result.outputs['run-id']).toBe(stand.runs[0]?.id)
  })

  it('warns when the image has no digest, and starts the chain all the same', async () => {
    const stand = await startRelay()
    const result = await startAction({ image: 'ghcr.io/acme/app:v1.2.0' })
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(
      '::warning::Input "image" has no digest (ghcr.io/acme/app:v1.2.0)',
    )
    expect(stand.runs[0]?.image).toMatchObject({ tag: 'v1.2.0', digest: null })
  })
})
