import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import {
  eventually,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

// GET /api/runs/<id>?wait= with If-None-Match: held until the run changes, or 304.

const IMAGE = `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}`
const chain: Chain = {
  name: 'release',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}

let github: GitHubStandIn
let t: TestRelay
beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url, { chains: [chain] }))
})
afterAll(async () => {
  await t.close()
  await github.close()
})

/** A run started by hand, its first step dispatched; its run token. */
async function startedRun(relay = t): Promise<{ id: string; token: string; etag: string }> {
  const response = await fetch(`${relay.url}/api/chains/release/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ image: IMAGE }),
  })
  expect(response.status).toBe(201)
  const { run, run_token: token } = (await response.json()) as { run: RunJson; run_token: string }
  await dispatched(run.id, 1)
  // The dispatch's delivery changes the run too: wait until it is running, then take its ETag.
  const etag = await eventually(async () => {
    const answer = await poll(relay, run.id, token)
    const body = (await answer.json()) as RunJson
    return body.steps[0]?.state === 'running'
      ? (answer.headers.get('etag') ?? undefined)
      : undefined
  })
  return { id: run.id, token, etag }
}

async function dispatched(runId: string, step: number): Promise<string> {
  const found = await eventually(() =>
    github.dispatches.find(
      (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
    ),
  )
  return String(found.clientPayload?.callback_url)
}

function poll(relay: TestRelay, id: string, token: string, etag?: string, wait?: number) {
  return fetch(`${relay.url}/api/runs/${id}${wait === undefined ? '' : `?wait=${wait}`}`, {
    headers: { authorization: `Bearer ${token}`, ...(etag ? { 'if-none-match': etag } : {}) },
  })
}

async function report(relay: TestRelay, runId: string, step: number, state: string) {
  const response = await fetch(relay.local(await dispatched(runId, step)), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ state, description: `step ${step}: ${state}` }),
  })
  expect(response.status).toBe(200)
}

describe('a long poll of a run', () => {
  it('answers at once, with an ETag, without If-None-Match; 304 at once with it and no wait', async () => {
    const run = await startedRun()
    const now = await poll(t, run.id, run.token, undefined, 30)
    expect(now.status).toBe(200)
    expect(now.headers.get('etag')).toBe(run.etag)
    expect(run.etag).toMatch(/^W\/"\d+"$/)
    const same = await poll(t, run.id, run.token, run.etag)
    expect(same.status).toBe(304)
    expect(same.headers.get('etag')).toBe(run.etag)
    expect(await same.text()).toBe('')
  })

  it('is answered as soon as a step reports, with the new version of the run', async () => {
    const run = await startedRun()
    const started = Date.now()
    const held = poll(t, run.id, run.token, run.etag, 30)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const reported = Date.now()
    await report(t, run.id, 1, 'success')
    const answer = await held
    expect(answer.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    // Woken by the commit on this relay, not by the periodic check.
    expect(Date.now() - reported).toBeLessThan(800)
    expect(answer.headers.get('etag')).not.toBe(run.etag)
    const body = (await answer.json()) as RunJson
    expect(body.steps.map((s) => s.state)).toEqual(['success', 'dispatching'])
  })

  it('answers 304 when the wait ends with no change, and is not woken by other runs', async () => {
    const run = await startedRun()
    const other = await startedRun()
    const started = Date.now()
    const held = poll(t, run.id, run.token, run.etag, 1)
    await report(t, other.id, 1, 'failure')
    const answer = await held
    expect(answer.status).toBe(304)
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(950)
    expect(waited).toBeLessThan(3000)
  })

  it('refuses a wait outside 1 to 60 seconds', async () => {
    const run = await startedRun()
    for (const wait of ['0', '61', '1.5', 'x']) {
      const answer = await fetch(`${t.url}/api/runs/${run.id}?wait=${wait}`, {
        headers: { authorization: `Bearer ${run.token}`, 'if-none-match': run.etag },
      })
      expect(answer.status).toBe(400)
      expect(await answer.json()).toMatchObject({
        detail: 'Query parameter "wait" must be a whole number of seconds from 1 to 60.',
      })
    }
  })

  it('is answered at once when its relay stops, rather than cut or held to the end', async () => {
    const own = await startTestRelay(testSettings(github.url, { chains: [chain] }))
    let closed = false
    try {
      const run = await startedRun(own)
      const held = poll(own, run.id, run.token, run.etag, 60)
      await new Promise((resolve) => setTimeout(resolve, 200))
      const started = Date.now()
      await own.close()
      closed = true
      const answer = await held
      expect(answer.status).toBe(304)
      expect(answer.headers.get('connection')).toBe('close')
      expect(Date.now() - started).toBeLessThan(2000)
    } finally {
      if (!closed) await own.close()
    }
  })
})
