import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { SECRETS, startTestRelay, type TestRelay, testSettings } from './relay-harness.js'

let github: GitHubStandIn
let t: TestRelay | undefined

beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(() => github.close())
afterEach(async () => {
  await t?.close()
  t = undefined
})

const everyTag: Chain = {
  name: 'every-tag',
  match: { repository: 'acme/app', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' }],
}

describe('one delivery that names many tags', () => {
  it('starts at most limits.runs_per_delivery runs, and the event says which were cut', async () => {
    t = await startTestRelay(testSettings(github.url, { chains: [everyTag], runsPerDelivery: 3 }))
    const tags = Array.from({ length: 8 }, (_, i) => `v1.${i}`)
    const answer = await t.post(`/hooks/quay/${SECRETS.quay}`, {
      repository: 'acme/app',
      docker_url: 'quay.io/acme/app',
      updated_tags: tags,
    })
    expect(answer.status).toBe(202)
    const body = (await answer.json()) as { runs: string[]; outcome: string; reason: string }
    expect(body.runs).toHaveLength(3)
    expect(body.outcome).toBe('started')
    expect(body.reason).toContain('3 of the 8 runs it matched were started')
    expect(body.reason).toContain('limits.runs_per_delivery is 3')
    expect(body.reason).toContain('every-tag for quay.io/acme/app:v1.7')
    await github.waitForDispatches(3)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(github.dispatches).toHaveLength(3)
  })
})

describe('/metrics', () => {
  it('is open by default, as Prometheus expects', async () => {
    t = await startTestRelay(testSettings(github.url))
    expect((await fetch(`${t.url}/metrics`)).status).toBe(200)
  })

  it('asks for the admin token when metrics.require_admin_token is set', async () => {
    t = await startTestRelay(testSettings(github.url, { metricsRequireAdmin: true }))
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401)
    const withToken = await fetch(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(withToken.status).toBe(200)
    expect(await withToken.text()).toContain('hookchain_events_total')
  })
})
