import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { REFUSED_CALLBACKS_KEPT } from '../../../src/relay/runs/service.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { fixture, SECRETS, startTestRelay, type TestRelay, testSettings } from '../relay-harness.js'

let github: GitHubStandIn
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url))
})
afterAll(async () => {
  await t?.close()
  await github?.close()
})

const report = (url: string, body: object) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('a client that keeps calling back a step that has ended', () => {
  it('grows the history by a bounded number of callbacks, and is slowed down with 429', async () => {
    const answer = await t.post(
      `/hooks/dockerhub/${SECRETS.dockerhub}`,
      fixture('dockerhub-push.json'),
    )
    const runId = ((await answer.json()) as { runs: string[] }).runs[0] ?? ''
    const [dispatch] = await github.waitForDispatches(1)
    const url = t.local(String(dispatch?.clientPayload?.callback_url))
    expect((await report(url, { state: 'failure', description: 'broke' })).status).toBe(200)

    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 60; i++) {
      const again = await report(url, { state: 'success', description: `again ${i}` })
      statuses.push(again.status)
      if (again.status === 429) retryAfter = again.headers.get('retry-after')
    }
    const refused = statuses.filter((s) => s === 409).length
    expect(refused).toBe(29)
    expect(statuses.slice(refused)).toEqual(Array(60 - refused).fill(429))
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)

    const run = await t.api<RunJson>(`/api/runs/${runId}`)
    const step = run.steps[0]
    expect(step?.callbacks.filter((c) => c.outcome === 'step-ended')).toHaveLength(
      REFUSED_CALLBACKS_KEPT,
    )
    expect(step?.callbacks_dropped).toBe(refused - REFUSED_CALLBACKS_KEPT)
    expect(step?.state).toBe('failure')
  })
})
