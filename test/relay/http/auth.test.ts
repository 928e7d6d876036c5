import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { fixture, SECRETS, startTestRelay, type TestRelay, testSettings } from '../relay-harness.js'

let github: GitHubStandIn
let guarded: TestRelay
let open: TestRelay
let runId: string
let eventId: string

beforeAll(async () => {
  github = await startGitHubStandIn()
  guarded = await startTestRelay(testSettings(github.url))
  open = await startTestRelay({ ...testSettings(github.url), adminToken: null })
  const answer = await guarded.post(
    `/hooks/dockerhub/${SECRETS.dockerhub}`,
    fixture('dockerhub-push.json'),
  )
  ;({
    runs: [runId = ''],
    event_id: eventId,
  } = (await answer.json()) as { runs: string[]; event_id: string })
})
afterAll(async () => {
  await guarded.close()
  await open.close()
  await github.close()
})

const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`
const credentials: [string, Record<string, string>, 'refused' | 'allowed'][] = [
  ['no credentials', {}, 'refused'],
  ['a wrong bearer token', { authorization: 'Bearer not-the-admin-token' }, 'refused'],
  ['a wrong basic password', { authorization: basic('not-the-admin-token') }, 'refused'],
  ['another scheme', { authorization: `Token ${SECRETS.admin}` }, 'refused'],
  ['the bearer token', { authorization: `Bearer ${SECRETS.admin}` }, 'allowed'],
  ['the token as basic password', { authorization: basic(SECRETS.admin) }, 'allowed'],
]

const routes = (): [string, string][] => [
  ['GET', '/api/runs'],
  ['GET', `/api/runs/${runId}`],
  ['POST', '/api/runs/0193b0c0-0000-7000-8000-000000000000/retry'],
  ['GET', '/api/events'],
  ['GET', `/api/events/${eventId}`],
  ['POST', '/api/events/0193b0c0-0000-7000-8000-000000000000/redeliver'],
  ['GET', '/'],
  ['GET', `/runs/${runId}`],
  ['POST', '/runs/0193b0c0-0000-7000-8000-000000000000/retry'],
  ['GET', '/events'],
  ['GET', `/events/${eventId}`],
  ['GET', '/assets/hookchain.css'],
]

describe('the admin token', () => {
  it.each(credentials)('guards every API route and page: %s', async (_name, headers, expected) => {
    for (const [method, path] of routes()) {
      const response = await fetch(`${guarded.url}${path}`, {
        method,
        headers: { ...headers, 'sec-fetch-site': 'same-origin' },
        redirect: 'manual',
      })
      if (expected === 'refused') {
        expect(response.status, `${method} ${path}`).toBe(401)
        expect(response.headers.get('content-type'), `${method} ${path}`).toContain(
          'application/problem+json',
        )
      } else {
        expect(response.status, `${method} ${path}`).not.toBe(401)
        expect(response.status, `${method} ${path}`).toBeLessThan(500)
      }
    }
  })

  it('is not asked on the routes that have their own credentials or none', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${guarded.url}${path}`)).status, path).toBe(200)
    }
    const hook = await guarded.post(`/hooks/quay/${SECRETS.quay}`, fixture('quay-repo-push.json'))
    expect(hook.status).toBe(202)
    const callback = await guarded.post(`/callbacks/${'x'.repeat(43)}`, { state: 'success' })
    expect(callback.status).toBe(404)
  })

  it('without a token configured, opens the API and pages to this machine only', async () => {
    // The relay compares the peer address with loopback; every test client here is on loopback,
    // so a refusal (403) can only be shown by the unit that decides it (admin-auth isLoopback).
    expect((await fetch(`${open.url}/api/runs`)).status).toBe(200)
    expect((await fetch(`${open.url}/`)).status).toBe(200)
    const { isLoopback } = await import('../../../src/relay/http/admin-auth.js')
    expect([isLoopback('127.0.0.1'), isLoopback('::1'), isLoopback('::ffff:127.0.0.9')]).toEqual([
      true,
      true,
      true,
    ])
    expect([
      isLoopback('10.0.0.1'),
      isLoopback('::ffff:192.168.1.2'),
      isLoopback(undefined),
    ]).toEqual([false, false, false])
  })
})
