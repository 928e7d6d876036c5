import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouterLayer } from '../../../src/relay/http/allowed-methods.js'
import { newId } from '../../../src/relay/ids.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { fixture, SECRETS, startTestRelay, type TestRelay, testSettings } from '../relay-harness.js'

let github: GitHubStandIn
let withToken: TestRelay
let withoutToken: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
  withToken = await startTestRelay(testSettings(github.url))
  withoutToken = await startTestRelay(testSettings(github.url, { adminToken: null }))
})
afterAll(async () => {
  await Promise.all([withToken?.close(), withoutToken?.close()])
  await github?.close()
})

/** A raw request, so that Host, Origin and the rest are exactly what a test says. */
function send(
  relay: TestRelay,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; type: string; text: string }> {
  const { port } = new URL(relay.url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', text }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Every state-changing route the relay serves to people (not hooks and callbacks), read from the
 * app itself: a route added later is covered without touching this test.
 */
function stateChangingRoutes(relay: TestRelay): { method: string; path: string }[] {
  type Layer = RouterLayer & { route?: { path: string } }
  const routes: { method: string; path: string }[] = []
  const visit = (stack: readonly Layer[]) => {
    for (const layer of stack) {
      if (layer.handle.stack) visit(layer.handle.stack as readonly Layer[])
      const route = layer.route
      if (!route || typeof route.path !== 'string') continue
      for (const [method, handled] of Object.entries(route.methods)) {
        if (!handled || ['get', 'head', 'options', '_all'].includes(method)) continue
        if (/^\/(hooks|callbacks)\//.test(route.path)) continue
        routes.push({ method: method.toUpperCase(), path: route.path.replace(/:[a-z]+/g, newId()) })
      }
    }
  }
  visit(relay.relay.app.router.stack as unknown as Layer[])
  return routes
}

const admin = { authorization: `Bearer ${SECRETS.admin}` }

describe('a state-changing request a browser sends for another site', () => {
  it('is found on every route people can post to', () => {
    const paths = stateChangingRoutes(withToken).map(
      (r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/g, ':id')}`,
    )
    expect(paths).toEqual(
      expect.arrayContaining([
        'POST /api/runs/:id/retry',
        'POST /api/events/:id/redeliver',
        'POST /runs/:id/retry',
      ]),
    )
  })

  const refusals: [string, Record<string, string>][] = [
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['an Origin of this host on another port', { origin: 'http://127.0.0.1:1' }],
    ['an Origin of null (a sandboxed frame)', { origin: 'null' }],
  ]

  it.each(refusals)(
    'is refused with 403 when it carries %s, even with valid credentials',
    async (_, headers) => {
      for (const { method, path } of stateChangingRoutes(withToken)) {
        const answer = await send(withToken, method, path, { ...admin, ...headers })
        expect(answer.status, `${method} ${path}`).toBe(403)
        expect(answer.type).toContain('application/problem+json')
        expect(JSON.parse(answer.text)).toMatchObject({
          type: 'urn:hookchain:problem:cross-site-request',
        })
      }
    },
  )

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'is refused with 415 on a JSON route when its body is %s, the types a form can send anywhere',
    async (type) => {
      for (const { method, path } of stateChangingRoutes(withToken).filter((r) =>
        r.path.startsWith('/api/'),
      )) {
        const answer = await send(
          withToken,
          method,
          path,
          { ...admin, 'content-type': type },
          'x=1',
        )
        expect(answer.status, `${method} ${path}`).toBe(415)
      }
    },
  )

  it('is taken from the relay itself, or from a tool that says nothing of an origin', async () => {
    const origin = { origin: withToken.url }
    for (const headers of [{ 'sec-fetch-site': 'same-origin' }, origin, {}] as Record<
      string,
      string
    >[]) {
      for (const { method, path } of stateChangingRoutes(withToken)) {
        const answer = await send(withToken, method, path, { ...admin, ...headers })
        // The ids are made up: past the guard, the route says there is no such run or event.
        expect(answer.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(404)
      }
    }
  })
})

describe('a relay without an admin token (it trusts this machine)', () => {
  it('answers its API and pages only at a Host that names this machine or public_url', async () => {
    const { port } = new URL(withoutToken.url)
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'relay.test',
      `app.localhost:${port}`,
    ]) {
      const answer = await send(withoutToken, 'GET', '/api/runs', { host })
      expect(answer.status, host).toBe(200)
    }
  })

  it.each(['evil.example', 'evil.example:80', `127.0.0.1.evil.example`, 'localhost.evil.example'])(
    'refuses Host %j, as a page rebound to 127.0.0.1 would send it, on every route for people',
    async (host) => {
      for (const [method, path] of [
        ['GET', '/api/runs'],
        ['GET', '/'],
        ['GET', '/events'],
        ['GET', '/metrics'],
        ['GET', '/healthz'],
        ['POST', `/api/runs/${newId()}/retry`],
      ] as const) {
        const answer = await send(withoutToken, method, path, { host })
        expect(answer.status, `${method} ${path}`).toBe(403)
        expect(JSON.parse(answer.text)).toMatchObject({
          type: 'urn:hookchain:problem:untrusted-host',
        })
      }
    },
  )

  it('still takes hooks and callbacks at any Host: registries and steps may use any name', async () => {
    const hook = await send(
      withoutToken,
      'POST',
      `/hooks/dockerhub/${SECRETS.dockerhub}`,
      { host: 'hooks.example.net', 'content-type': 'application/json' },
      fixture('dockerhub-push.json'),
    )
    expect(hook.status).toBe(202)
    const callback = await send(
      withoutToken,
      'POST',
      `/callbacks/${'x'.repeat(43)}`,
      { host: 'hooks.example.net', 'content-type': 'application/json' },
      '{"state":"success"}',
    )
    expect(callback.status).toBe(404)
    expect(JSON.parse(callback.text)).toMatchObject({
      type: 'urn:hookchain:problem:unknown-callback-token',
    })
  })

  it('takes any Host once an admin token guards it', async () => {
    const answer = await send(withToken, 'GET', '/api/runs', {
      ...admin,
      host: 'relay.example.org',
    })
    expect(answer.status).toBe(200)
  })
})
