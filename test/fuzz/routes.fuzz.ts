import { gzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'

let github: GitHubStandIn
let t: TestRelay
let callbackUrl: string

beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url))
  const accepted = await t.post(
    `/hooks/dockerhub/${SECRETS.dockerhub}`,
    fixture('dockerhub-push.json'),
  )
  const runId = ((await accepted.json()) as { runs: string[] }).runs[0]
  const dispatch = await eventually(() =>
    github.dispatches.find((d) => d.clientPayload?.run_id === runId),
  )
  callbackUrl = t.local(String(dispatch.clientPayload?.callback_url))
})
afterAll(async () => {
  await t.close()
  await github.close()
})

/** A client's mistake gets a 4xx that says what to fix; never a 5xx, never a dropped connection. */
async function expectClientAnswer(response: Response, allowed: number[]) {
  expect(response.status, await response.clone().text()).toBeLessThan(500)
  expect(allowed).toContain(response.status)
  if (response.status >= 400) {
    expect(response.headers.get('content-type')).toContain('application/problem+json')
    const problem = (await response.json()) as { detail?: string }
    expect(problem.detail?.length ?? 0).toBeGreaterThan(0)
  } else {
    await response.arrayBuffer()
  }
}

const routes = () => [
  `/hooks/dockerhub/${SECRETS.dockerhub}`,
  `/hooks/quay/${SECRETS.quay}`,
  '/hooks/distribution',
  '/hooks/github',
  '/hooks/harbor',
  '/hooks/nope',
  callbackUrl.replace(t.url, ''),
  `/callbacks/${'A'.repeat(43)}`,
]

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/vnd.docker.distribution.events.v1+json',
  'application/cloudevents+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=utf-16',
)

const authHeaders = fc.constantFrom<Record<string, string>>(
  {},
  { authorization: `Bearer ${SECRETS.distribution}` },
  { authorization: SECRETS.harbor },
  { authorization: 'Bearer x' },
  { 'x-github-event': 'registry_package', 'x-hub-signature-256': 'sha256=00' },
)

describe('random input on every route', () => {
  it('never crashes the relay or answers a client mistake with 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes()),
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 2000 }),
          fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b).toString('latin1')),
          fc.constant(fixture('dockerhub-push.json')),
          fc.constant(fixture('distribution-manifest-push.json')),
        ),
        contentTypes,
        authHeaders,
        async (route, body, contentType, auth) => {
          const headers: Record<string, string> = { ...auth }
          if (contentType) headers['content-type'] = contentType
          const response = await fetch(`${t.url}${route}`, { method: 'POST', headers, body })
          await expectClientAnswer(response, [200, 202, 400, 401, 404, 409, 413, 415, 422])
        },
      ),
      { numRuns: 600, interruptAfterTimeLimit: 90_000 },
    )
  })

  it('answers random callback bodies on a live token with 200, 400, 409, 415 or 422 only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            state: fc.oneof(
              fc.constantFrom('pending', 'success', 'failure', 'error', 'done'),
              fc.jsonValue(),
            ),
            description: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()),
            context: fc.string({ maxLength: 120 }),
            target_url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 50 })),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const response = await fetch(callbackUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
          await expectClientAnswer(response, [200, 400, 409, 415, 422])
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 60_000 },
    )
  })

  it('answers random query strings on the API with 200 or 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('state', 'chain', 'repository', 'cursor', 'limit', 'source', 'outcome'),
          fc.string({ maxLength: 400 }),
        ),
        fc.constantFrom('/api/runs', '/api/events'),
        async (query, path) => {
          const response = await fetch(`${t.url}${path}?${new URLSearchParams(query)}`, {
            headers: { authorization: `Bearer ${SECRETS.admin}` },
          })
          await expectClientAnswer(response, [200, 400])
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 30_000 },
    )
  })
})

describe('hostile bodies', () => {
  it('refuses a gzip bomb with 413 without inflating it all', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(200_000)
    const started = Date.now()
    const response = await fetch(`${t.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    })
    await expectClientAnswer(response, [413])
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('answers corrupt gzip and unknown encodings with a 4xx', async () => {
    const corrupt = await fetch(`${t.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip at all',
    })
    await expectClientAnswer(corrupt, [400])
    const unknown = await fetch(`${t.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' },
      body: '{}',
    })
    await expectClientAnswer(unknown, [415])
  })

  it('handles JSON nested 100,000 deep', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    for (const route of [`/hooks/dockerhub/${SECRETS.dockerhub}`, callbackUrl.replace(t.url, '')]) {
      const response = await fetch(`${t.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: deep,
      })
      await expectClientAnswer(response, [400, 409, 422])
    }
    const nestedObject = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`
    const response = await fetch(`${t.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: nestedObject,
    })
    await expectClientAnswer(response, [400, 422])
  })
})

describe('after all that', () => {
  it('keeps memory flat over thousands of bad requests', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc, 'run with --expose-gc (vitest.heavy.config.ts)').toBeDefined()
    const heap = () => {
      gc?.()
      return process.memoryUsage().heapUsed
    }
    const send = (i: number) =>
      fetch(`${t.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"push_data": ${i}`,
      }).then((r) => r.arrayBuffer())
    for (let i = 0; i < 500; i++) await send(i)
    const before = heap()
    for (let round = 0; round < 20; round++)
      await Promise.all(Array.from({ length: 100 }, (_, i) => send(round * 100 + i)))
    const after = heap()
    expect(after - before).toBeLessThan(32 * 1024 * 1024)
  })

  it('leaves the stored state consistent', async () => {
    const db = new Database(t.databaseFile, { readonly: true })
    try {
      const rows = <T>(sql: string) => db.prepare(sql).all() as T[]
      expect(
        rows(
          `SELECT r.id FROM runs r WHERE r.state = 'success' AND EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.id AND s.state <> 'success')`,
        ),
      ).toEqual([])
      expect(
        rows(
          `SELECT r.id FROM runs r WHERE r.state = 'running' AND (SELECT count(*) FROM steps s WHERE s.run_id = r.id AND s.state IN ('dispatching', 'running', 'pending')) <> 1`,
        ),
      ).toEqual([])
      expect(
        rows(
          `SELECT r.id FROM runs r WHERE r.state IN ('failure', 'error') AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.id AND s.state = r.state)`,
        ),
      ).toEqual([])
      expect(
        rows(
          `SELECT o.id FROM outbox o JOIN runs r ON r.id = o.run_id WHERE o.kind = 'send' AND r.state <> 'running'`,
        ),
      ).toEqual([])
      expect(rows('SELECT hash FROM tokens WHERE run_id NOT IN (SELECT id FROM runs)')).toEqual([])
      const events = rows<{ run_ids: string }>('SELECT run_ids FROM events')
      const runIds = new Set(rows<{ id: string }>('SELECT id FROM runs').map((r) => r.id))
      for (const e of events)
        for (const id of JSON.parse(e.run_ids) as string[]) expect(runIds.has(id)).toBe(true)
      expect(rows<{ n: number }>('SELECT count(*) AS n FROM events')[0]?.n).toBeGreaterThan(0)
    } finally {
      db.close()
    }
  })
})
