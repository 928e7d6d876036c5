import { request } from 'node:http'
import { networkInterfaces } from 'node:os'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { openApiChecker } from '../../support/openapi-check.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

const checker = openApiChecker(fileURLToPath(new URL('../../../openapi.yaml', import.meta.url)))

let github: GitHubStandIn
/** A relay with an admin token. */
let guarded: TestRelay
/** A relay without one: the history is for this machine only. */
let open: TestRelay
/** A real run and event of each relay. */
const ids = new Map<TestRelay, { run: string; event: string }>()
/** A well-formed id that names no run or event: a POST to it changes nothing, whoever sends it. */
const NOBODY = '0193b0c0-0000-7000-8000-000000000000'

beforeAll(async () => {
  github = await startGitHubStandIn()
  guarded = await startTestRelay(testSettings(github.url))
  open = await startTestRelay({ ...testSettings(github.url), adminToken: null })
  for (const relay of [guarded, open]) {
    const answer = await relay.post(
      `/hooks/dockerhub/${SECRETS.dockerhub}`,
      fixture('dockerhub-push.json'),
    )
    const accepted = (await answer.json()) as { runs: string[]; event_id: string }
    ids.set(relay, { run: accepted.runs[0] as string, event: accepted.event_id })
  }
})
afterAll(async () => {
  await guarded.close()
  await open.close()
  await github.close()
})

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** What a request offers, and whether that is the admin token. */
const credentials: [string, Record<string, string>, 'admin' | 'refused'][] = [
  ['no credentials', {}, 'refused'],
  ['a wrong bearer token', { authorization: 'Bearer not-the-admin-token' }, 'refused'],
  ['the bearer token', { authorization: `Bearer ${SECRETS.admin}` }, 'admin'],
  ['the token as basic password', { authorization: basic('admin', SECRETS.admin) }, 'admin'],
  ['a wrong basic password', { authorization: basic('admin', 'not-the-admin-token') }, 'refused'],
  ['the token as basic user name', { authorization: basic(SECRETS.admin, '') }, 'refused'],
  ['the token with another scheme', { authorization: `Token ${SECRETS.admin}` }, 'refused'],
  ['a lower-case bearer scheme', { authorization: `bearer ${SECRETS.admin}` }, 'admin'],
]

/**
 * Every route behind the admin token, with what it answers once let in. `{run}` and `{event}`
 * stand for a real run and event; the POSTs name `{nobody}`, so no case changes what the next sees.
 */
const guardedRoutes: [string, string, number][] = [
  ['GET', '/api/runs', 200],
  ['GET', '/api/runs/{run}', 200],
  ['POST', '/api/runs/{nobody}/retry', 404],
  ['GET', '/api/events', 200],
  ['GET', '/api/events/{event}', 200],
  ['POST', '/api/events/{nobody}/redeliver', 404],
  ['GET', '/', 200],
  ['GET', '/runs/{run}', 200],
  ['POST', '/runs/{nobody}/retry', 404],
  ['GET', '/events', 200],
  ['GET', '/events/{event}', 200],
  ['GET', '/assets/hookchain.css', 200],
  ['GET', '/assets/favicon.svg', 200],
]

function pathOf(relay: TestRelay, template: string): string {
  const { run = '', event = '' } = ids.get(relay) ?? {}
  return template.replace('{run}', run).replace('{event}', event).replace('{nobody}', NOBODY)
}
const isPage = (path: string) => !path.startsWith('/api/')

/** A request to a relay, held against openapi.yaml. */
async function send(
  relay: TestRelay,
  method: string,
  path: string,
  headers: Record<string, string> = {},
) {
  const url = `${relay.url}${path}`
  // Sec-Fetch-Site as a browser sends it from the relay's own page (the retry button).
  const sent = { ...headers, 'sec-fetch-site': 'same-origin' }
  const response = await fetch(url, { method, headers: sent, redirect: 'manual' })
  return checker.check({ method, url, headers: sent }, response, {
    credentialsRequired: relay.settings.adminToken !== null,
  })
}

describe('the admin token', () => {
  const table = guardedRoutes.flatMap(([method, path, allowed]) =>
    credentials.map(([name, headers, kind]) => ({
      name,
      headers,
      method,
      path,
      status: kind === 'admin' ? allowed : 401,
    })),
  )

  it.each(table)('$method $path with $name answers $status', async (c) => {
    const answer = await send(guarded, c.method, pathOf(guarded, c.path), c.headers)
    expect(answer.status, answer.text).toBe(c.status)
    if (c.status === 401) {
      expect(answer.body).toMatchObject({ type: 'urn:hookchain:problem:admin-token-required' })
      // A browser asks for a password only when challenged with Basic.
      expect(answer.headers.get('www-authenticate')).toMatch(
        isPage(c.path) ? /^Basic / : /^Bearer /,
      )
    }
  })

  it('guards every spelling of a guarded path that reaches a route', async () => {
    const spellings = [
      '/API/RUNS',
      '/api/runs/',
      '/Api/Runs/{run}',
      '/api/events/{event}/',
      '/EVENTS',
      '/events/',
      '/Runs/{run}',
      '/ASSETS/hookchain.css',
      '//api/runs',
      '/api//runs',
    ]
    for (const spelling of spellings) {
      const url = `${guarded.url}${pathOf(guarded, spelling)}`
      const without = await fetch(url)
      const withToken = await fetch(url, { headers: { authorization: `Bearer ${SECRETS.admin}` } })
      expect(without.status, spelling).not.toBeLessThan(400)
      if (withToken.ok) expect(without.status, spelling).toBe(401)
    }
  })

  it('is not asked by the routes that have their own credentials or none', async () => {
    const wrong = { authorization: 'Bearer not-the-admin-token' }
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await send(guarded, 'GET', path)).status, path).toBe(200)
      expect((await send(guarded, 'GET', path, wrong)).status, path).toBe(200)
    }

    const hook = await guarded.post(`/hooks/quay/${SECRETS.quay}`, fixture('quay-repo-push.json'))
    expect(hook.status).toBe(202)
    const distribution = await guarded.post(
      '/hooks/distribution',
      fixture('distribution-manifest-push.json'),
      { authorization: `Bearer ${SECRETS.distribution}` },
    )
    expect(distribution.status).toBe(202)

    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === ids.get(guarded)?.run),
    )
    const callback = await guarded.post(
      new URL(String(dispatch.clientPayload?.callback_url)).pathname,
      { state: 'pending' },
    )
    expect(callback.status).toBe(200)
    const unknown = await guarded.post(`/callbacks/${'A'.repeat(43)}`, { state: 'success' })
    expect(unknown.status).toBe(404)
  })

  it('opens no hook: each source takes only its own secret', async () => {
    const admin = `Bearer ${SECRETS.admin}`
    const answers = await Promise.all([
      guarded.post(`/hooks/quay/${SECRETS.admin}`, fixture('quay-repo-push.json')),
      guarded.post(`/hooks/dockerhub/${SECRETS.admin}`, fixture('dockerhub-push.json')),
      guarded.post('/hooks/distribution', fixture('distribution-manifest-push.json'), {
        authorization: admin,
      }),
      guarded.post('/hooks/harbor', fixture('harbor-push-artifact.json'), { authorization: admin }),
    ])
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401])
  })
})

describe('without an admin token', () => {
  it.each(guardedRoutes)(
    '%s %s answers requests from this machine (127.0.0.1) with %i',
    async (method, path, status) => {
      const answer = await send(open, method, pathOf(open, path))
      expect(answer.status, answer.text).toBe(status)
      const offered = await send(open, method, pathOf(open, path), {
        authorization: 'Bearer anything',
      })
      expect(offered.status).toBe(status)
    },
  )

  it.each(guardedRoutes)(
    '%s %s refuses a request a reverse proxy forwarded, though it comes from this machine',
    async (method, path) => {
      const forwarded: Record<string, string>[] = [
        { 'x-forwarded-for': '203.0.113.7' },
        { forwarded: 'for=203.0.113.7' },
      ]
      for (const header of forwarded) {
        const answer = await send(open, method, pathOf(open, path), header)
        expect(answer.status, answer.text).toBe(403)
      }
    },
  )
})

/*
 * The relay lets a request without an admin token in when its peer address is loopback
 * (127.0.0.0/8, ::1). Every test client connects over loopback, and connecting to another loopback
 * address (127.0.0.2) changes nothing: the peer is still 127.x. What makes a peer look remote is
 * its source address, so the requests below bind their socket to this machine's own non-loopback
 * address (eth0's, say) and connect to 127.0.0.1: the packets still go over `lo` and never leave
 * the machine, but the relay sees a peer that is not loopback, exactly as it would see another
 * host. A machine with no such address cannot show it, and the test is skipped there.
 */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address

function fetchFrom(
  localAddress: string,
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, headers, localAddress }, (incoming) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('error', reject)
      incoming.on('end', () => {
        const answerHeaders = new Headers()
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const one of [value].flat()) if (one !== undefined) answerHeaders.append(name, one)
        }
        resolve(
          new Response(Buffer.concat(chunks), {
            status: incoming.statusCode ?? 0,
            headers: answerHeaders,
          }),
        )
      })
    })
    sent.on('error', reject)
    sent.end()
  })
}

describe.skipIf(external === undefined)(`requests from another address (${external})`, () => {
  const from = async (relay: TestRelay, method: string, path: string, headers = {}) => {
    const url = `${relay.url}${path}`
    const sent = { ...headers, 'sec-fetch-site': 'same-origin' }
    const response = await fetchFrom(external as string, url, method, sent)
    return checker.check({ method, url, headers: sent }, response)
  }

  it.each(guardedRoutes)(
    '%s %s is refused with 403 when no admin token is configured',
    async (method, path) => {
      const answer = await from(open, method, pathOf(open, path))
      expect(answer.status, answer.text).toBe(403)
      expect(answer.body).toMatchObject({ type: 'urn:hookchain:problem:admin-loopback-only' })
    },
  )

  it('are served with the admin token when one is configured, and only with it', async () => {
    for (const [method, path, status] of guardedRoutes) {
      const bearer = { authorization: `Bearer ${SECRETS.admin}` }
      expect((await from(guarded, method, pathOf(guarded, path), bearer)).status, path).toBe(status)
      expect((await from(guarded, method, pathOf(guarded, path))).status, path).toBe(401)
    }
  })

  it('still reach the routes that need no admin token', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await from(open, 'GET', path)).status, path).toBe(200)
    }
    const unknownCallback = await from(open, 'POST', `/callbacks/${'A'.repeat(43)}`, {
      'content-type': 'application/json',
    })
    expect(unknownCallback.status).toBe(404)
  })
})
