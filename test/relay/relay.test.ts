import { createHash, createHmac } from 'node:crypto'
import { connect } from 'node:net'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import type { RunJson } from '../../src/relay/http/representation.js'
import { REJECTED_PAYLOAD_BYTES } from '../../src/relay/runs/service.js'
import { PostgresStore } from '../../src/relay/store/postgres-store.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
  twoSteps,
} from './relay-harness.js'
import { adminQuery } from './store/postgres-factory.js'

const dockerHubPush = () => JSON.parse(fixture('dockerhub-push.json'))

let github: GitHubStandIn
let t: TestRelay

beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(async () => github.close())

async function start(overrides: Parameters<typeof testSettings>[1] = {}) {
  t = await startTestRelay(testSettings(github.url, overrides))
}
afterEach(async () => {
  await t?.close()
})

async function push(body: unknown = dockerHubPush()) {
  const response = await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, body)
  expect(response.status).toBe(202)
  return (await response.json()) as {
    event_id: string
    runs: string[]
    duplicate: boolean
    outcome: string
  }
}

async function dispatchFor(runId: string, step: number) {
  const dispatch = await eventually(() =>
    github.dispatches.find(
      (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
    ),
  )
  return { ...dispatch, callbackUrl: t.local(String(dispatch.clientPayload?.callback_url)) }
}

async function report(callbackUrl: string, body: unknown) {
  return fetch(callbackUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

const run = (id: string) => t.api<RunJson>(`/api/runs/${id}`)

/** Every row of every table of the relay's database, read with SQL beside the store. */
async function storedTables(): Promise<Record<string, Record<string, unknown>[]>> {
  const tables: Record<string, Record<string, unknown>[]> = {}
  const store = t.relay.store
  if (store instanceof PostgresStore) {
    const schema = store.schema ?? 'public'
    const names = await adminQuery<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    )
    for (const { table_name: name } of names) {
      tables[name] = await adminQuery(`SELECT * FROM "${schema}"."${name}"`)
    }
    return tables
  }
  const db = new Database(t.databaseFile, { readonly: true, fileMustExist: true })
  try {
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string
    }[]
    for (const { name } of names) {
      tables[name] = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]
    }
    return tables
  } finally {
    db.close()
  }
}

function cellText(cell: unknown): string {
  if (typeof cell === 'string') return cell
  if (Buffer.isBuffer(cell)) return cell.toString('utf8')
  if (typeof cell === 'object' && cell !== null) return JSON.stringify(cell)
  return String(cell)
}

describe('a chain of two dispatch steps', () => {
  beforeEach(async () => start())

  it('dispatches each step in turn and completes when the last one succeeds', async () => {
    const accepted = await push()
    expect(accepted.runs).toHaveLength(1)
    const runId = accepted.runs[0] as string

    const first = await dispatchFor(runId, 1)
    expect(first.repository).toBe('acme/integration-tests')
    expect(first.eventType).toBe('image-pushed')
    expect(first.clientPayload).toMatchObject({
      run_id: runId,
      chain: 'release',
      step: 1,
      steps: 2,
      source: 'dockerhub',
      pusher: 'trustedbuilder',
      image: {
        registry: 'docker.io',
        repository: 'svendowideit/testhook',
        tag: 'latest',
        reference: 'docker.io/svendowideit/testhook:latest',
      },
    })
    expect(String(first.clientPayload?.callback_url)).toMatch(
      /^http:\/\/relay\.test\/callbacks\/[A-Za-z0-9_-]{43}$/,
    )

    const answer = await report(first.callbackUrl, {
      state: 'success',
      description: '387 tests PASSED',
      context: 'CI',
      target_url: 'https://github.com/acme/integration-tests/actions/runs/42',
    })
    expect(answer.status).toBe(200)
    const body = (await answer.json()) as { run: { state: string }; step: { state: string } }
    expect(body.run.state).toBe('running')
    expect(body.step.state).toBe('success')

    const second = await dispatchFor(runId, 2)
    expect(second.repository).toBe('acme/deploy')
    expect(second.callbackUrl).not.toBe(first.callbackUrl)
    const last = await report(second.callbackUrl, { state: 'success', description: 'deployed' })
    expect(((await last.json()) as { run: { state: string } }).run.state).toBe('success')

    const history = await run(runId)
    expect(history.state).toBe('success')
    expect(history.steps.map((s) => [s.state, s.description])).toEqual([
      ['success', '387 tests PASSED'],
      ['success', 'deployed'],
    ])
    expect(history.steps[0]?.target_url).toBe(
      'https://github.com/acme/integration-tests/actions/runs/42',
    )
    expect(history.steps[0]?.attempts).toMatchObject([{ status: 204, error: null }])
  })

  it('stops the chain when a step reports failure, and refuses a second report', async () => {
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    const answer = await report(first.callbackUrl, {
      state: 'failure',
      description: '3 of 390 tests FAILED',
    })
    expect(((await answer.json()) as { run: { state: string } }).run.state).toBe('failure')

    const again = await report(first.callbackUrl, { state: 'success' })
    expect(again.status).toBe(409)
    expect(again.headers.get('content-type')).toContain('application/problem+json')
    expect(((await again.json()) as { detail: string }).detail).toContain(
      'already ended as failure',
    )

    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(github.dispatches.filter((d) => d.clientPayload?.run_id === runId)).toHaveLength(1)
    const history = await run(runId)
    expect(history.steps.map((s) => s.state)).toEqual(['failure', 'skipped'])
    expect(history.steps[0]?.callbacks.map((c) => c.outcome)).toEqual(['accepted', 'step-ended'])
  })

  it('records a pending report with its link and keeps the step open', async () => {
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    const answer = await report(first.callbackUrl, {
      state: 'pending',
      description: 'tests running',
      target_url: 'https://ci.example.com/1',
    })
    expect(answer.status).toBe(200)
    const history = await run(runId)
    expect(history.state).toBe('running')
    expect(history.steps[0]).toMatchObject({
      state: 'pending',
      description: 'tests running',
      target_url: 'https://ci.example.com/1',
    })
  })

  it('acknowledges a repeated delivery without starting anything new', async () => {
    const body = fixture('dockerhub-push.json')
    const first = await push(body)
    const again = await push(body)
    expect(again).toMatchObject({ duplicate: true, event_id: first.event_id, runs: first.runs })
    await dispatchFor(first.runs[0] as string, 1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(
      github.dispatches.filter((d) => first.runs.includes(String(d.clientPayload?.run_id))),
    ).toHaveLength(1)
  })

  it('resumes a failed run from its failed step with a new callback URL', async () => {
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    await report(first.callbackUrl, { state: 'success' })
    const second = await dispatchFor(runId, 2)
    await report(second.callbackUrl, { state: 'error', description: 'deploy broke' })

    const retry = await fetch(`${t.url}/api/runs/${runId}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(retry.status).toBe(202)
    const resumed = await eventually(() => {
      const all = github.dispatches.filter(
        (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === 2,
      )
      return all.length === 2 ? all[1] : undefined
    })
    const newUrl = t.local(String(resumed.clientPayload?.callback_url))
    expect(newUrl).not.toBe(second.callbackUrl)
    expect((await report(second.callbackUrl, { state: 'success' })).status).toBe(404)
    const done = await report(newUrl, { state: 'success' })
    expect(((await done.json()) as { run: { state: string } }).run.state).toBe('success')

    const twice = await fetch(`${t.url}/api/runs/${runId}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(twice.status).toBe(409)
  })

  it('starts the chains of a stored event again on redelivery', async () => {
    const accepted = await push()
    const redeliver = await fetch(`${t.url}/api/events/${accepted.event_id}/redeliver`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(redeliver.status).toBe(202)
    const { runs } = (await redeliver.json()) as { runs: string[] }
    expect(runs).toHaveLength(1)
    expect(runs[0]).not.toBe(accepted.runs[0])
    await dispatchFor(runs[0] as string, 1)
    const event = await t.api<{ runs: string[] }>(`/api/events/${accepted.event_id}`)
    expect(event.runs).toEqual([...accepted.runs, ...runs])
  })

  it('stores each callback token only as its SHA-256, and makes it at least 128 bits', async () => {
    const runId = (await push()).runs[0] as string
    const { clientPayload } = await dispatchFor(runId, 1)
    const token = /\/callbacks\/([^/]+)$/.exec(String(clientPayload?.callback_url))?.[1] ?? ''
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(token.length).toBeGreaterThanOrEqual(22)
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16)
    const hash = createHash('sha256').update(token, 'utf8').digest('hex')

    // Through the store: the hash finds the step, the token does not.
    expect(await t.relay.store.findToken(hash)).toEqual({
      runId,
      ref: { phase: 'main', index: 1, branch: 0 },
      generation: 1,
    })
    expect(await t.relay.store.findToken(token)).toBeNull()

    // The rows themselves, every table, as SQL reads them.
    const tables = await storedTables()
    expect(Object.keys(tables)).toContain('tokens')
    expect(tables.tokens?.map((row) => row.hash)).toEqual([hash])
    for (const [name, rows] of Object.entries(tables)) {
      const found = rows.flatMap((row) => Object.values(row).map(cellText))
      expect(
        found.filter((cell) => cell.includes(token)),
        `the raw token in table ${name}`,
      ).toEqual([])
    }
  })
})

describe('step timeouts', () => {
  it('ends a step as error when no callback arrives in time', async () => {
    await start({ chains: [{ ...twoSteps, stepTimeoutMs: 300 }] })
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    const ended = await eventually(async () => {
      const r = await run(runId)
      return r.state === 'running' ? undefined : r
    })
    expect(ended.state).toBe('error')
    expect(ended.steps[0]).toMatchObject({
      state: 'error',
      description: 'No callback within 300ms',
    })
    expect((await report(first.callbackUrl, { state: 'success' })).status).toBe(409)
  })
})

describe('GitHub answering badly', () => {
  beforeEach(async () => start())

  it('retries a 500 and records both attempts', async () => {
    github.fail(1, { status: 500 })
    const runId = (await push()).runs[0] as string
    await dispatchFor(runId, 1)
    const history = await eventually(async () => {
      const r = await run(runId)
      return r.steps[0]?.state === 'running' ? r : undefined
    })
    expect(history.steps[0]?.attempts.map((a) => a.status)).toEqual([500, 204])
  })

  it('retries after a 429 with Retry-After, in the outbox', async () => {
    github.fail(1, { status: 429, headers: { 'retry-after': '1' } })
    const runId = (await push()).runs[0] as string
    const dispatched = await dispatchFor(runId, 1)
    const first = github.requests.find((r) => r.status === 429)
    expect(first).toBeDefined()
    expect(
      dispatched.receivedAt.getTime() - (first?.receivedAt.getTime() ?? 0),
    ).toBeGreaterThanOrEqual(900)
  })

  it('ends the step as error with what GitHub said when the repository does not exist', async () => {
    github.setRepositories(['acme/deploy'])
    try {
      const runId = (await push()).runs[0] as string
      const ended = await eventually(async () => {
        const r = await run(runId)
        return r.state === 'error' ? r : undefined
      })
      expect(ended.steps[0]?.description).toContain('404')
      expect(ended.steps[0]?.attempts[0]).toMatchObject({ status: 404 })
      expect(ended.steps[0]?.attempts[0]?.error).toContain('acme/integration-tests')
    } finally {
      github.setRepositories(null)
    }
  })
})

describe('a relay without GitHub credentials', () => {
  it('starts, and ends a dispatch step with a clear error in the history', async () => {
    t = await startTestRelay({
      ...testSettings(github.url),
      github: { apiUrl: github.url, auth: null, writesPerMinute: 0 },
    })
    const runId = (await push()).runs[0] as string
    const ended = await eventually(async () => {
      const r = await run(runId)
      return r.state === 'error' ? r : undefined
    })
    expect(ended.steps[0]?.description).toMatch(/no GitHub credentials/i)
  })
})

describe('webhook steps and registry callbacks', () => {
  let receiver: HttpReceiver
  beforeAll(async () => {
    receiver = await startHttpReceiver()
  })
  afterAll(async () => receiver.close())

  it('posts a signed Docker Hub-style payload and tells the registry how the run ended', async () => {
    const chain: Chain = {
      name: 'changelog',
      match: { repository: 'svendowideit/*', tags: null },
      stepTimeoutMs: 60_000,
      onFailure: [],
      notify: [],
      steps: [
        { kind: 'webhook', url: `${receiver.url}/hook`, secret: 'webhook-secret-0123456789' },
      ],
    }
    await start({
      chains: [chain],
      registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true },
    })
    const body = dockerHubPush()
    body.callback_url = `${receiver.url}/registry-callback/abc`
    const runId = (await push(body)).runs[0] as string

    const [delivery] = await receiver.waitForRequests(1)
    expect(delivery?.path).toBe('/hook')
    expect(delivery?.headers['webhook-signature']).toMatch(/^v1,/)
    const payload = delivery?.body as {
      callback_url: string
      push_data: { tag: string }
      repository: { repo_name: string }
    }
    expect(payload.push_data.tag).toBe('latest')
    expect(payload.repository.repo_name).toBe('svendowideit/testhook')
    const answer = await report(t.local(payload.callback_url), {
      state: 'success',
      description: 'changelog updated',
    })
    expect(answer.status).toBe(200)

    const [, registry] = await receiver.waitForRequests(2)
    expect(registry?.path).toBe('/registry-callback/abc')
    expect(registry?.body).toMatchObject({
      state: 'success',
      description: '1 of 1 steps succeeded',
      context: 'hookchain/changelog',
      target_url: `http://relay.test/runs/${runId}`,
    })
    const history = await eventually(async () => {
      const r = await run(runId)
      return r.registry_callback?.attempts.length ? r : undefined
    })
    expect(history.registry_callback?.attempts[0]?.status).toBe(200)
  })
})

describe('bad input', () => {
  beforeEach(async () =>
    start({
      sources: {
        dockerhub: { secret: SECRETS.dockerhub },
        github: { webhookSecret: SECRETS.github },
      },
    }),
  )

  async function problem(response: Response, status: number) {
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toContain('application/problem+json')
    const body = (await response.json()) as {
      status: number
      title: string
      detail: string
      type: string
      errors?: { pointer: string }[]
    }
    expect(body.status).toBe(status)
    expect(body.detail.length).toBeGreaterThan(10)
    return body
  }

  it('answers malformed JSON with 400', async () => {
    const body = await problem(
      await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, '{"push_data": '),
      400,
    )
    expect(body.detail).toContain('not valid JSON')
  })

  it('answers a wrong secret with 401 and records nothing', async () => {
    await problem(await t.post('/hooks/dockerhub/wrong-secret-0123456789', dockerHubPush()), 401)
    const events = await t.api<{ events: unknown[] }>('/api/events')
    expect(events.events).toHaveLength(0)
  })

  it('answers a bad GitHub signature with 401', async () => {
    const body = fixture('github-registry-package-published.json')
    const signature = `sha256=${createHmac('sha256', 'not-the-secret').update(body).digest('hex')}`
    await problem(
      await t.post('/hooks/github', body, {
        'x-github-event': 'registry_package',
        'x-hub-signature-256': signature,
      }),
      401,
    )
  })

  it('answers an unknown or disabled source with 404', async () => {
    expect((await problem(await t.post('/hooks/gitlab', {}), 404)).detail).toContain('dockerhub')
    expect((await problem(await t.post('/hooks/harbor', {}), 404)).detail).toContain(
      'sources.harbor',
    )
  })

  it('answers an unknown callback token with 404', async () => {
    await problem(await report(`${t.url}/callbacks/${'x'.repeat(43)}`, { state: 'success' }), 404)
    await problem(await report(`${t.url}/callbacks/short`, { state: 'success' }), 404)
  })

  it('answers a body over 1 MB with 413', async () => {
    const big = JSON.stringify({ ...dockerHubPush(), padding: 'x'.repeat(1024 * 1024) })
    await problem(await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, big), 413)
  })

  it.each(['declared', 'chunked'] as const)(
    'answers a body over 1 MB (%s) with 413 at once, and closes without reading the rest',
    async (framing) => {
      const { head, closed, sent } = await postOversized(
        t.url,
        `/hooks/dockerhub/${SECRETS.dockerhub}`,
        framing,
      )
      expect(head).toMatch(/^HTTP\/1\.1 413 /)
      expect(head).toMatch(/^connection: close$/im)
      expect(closed).toBe(true)
      expect(sent).toBeLessThan(8 * 1024 * 1024)
    },
  )

  it('answers an unsupported content type with 415', async () => {
    const body = await problem(
      await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, 'payload=x', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
    )
    expect(body.detail).toContain('application/json')
  })

  it('answers a push payload of the wrong shape with 422 and a pointer, and records it as rejected', async () => {
    const body = await problem(
      await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, {
        push_data: { tag: 5 },
        repository: { repo_name: 'a/b' },
      }),
      422,
    )
    expect(body.errors?.[0]?.pointer).toBe('/push_data/tag')
    const events = await t.api<{ events: { outcome: string; reason: string }[] }>('/api/events')
    expect(events.events[0]).toMatchObject({ outcome: 'rejected' })
  })

  it('keeps only the first 64 kB of a large rejected delivery, and says so', async () => {
    const large = JSON.stringify({ repository: { repo_name: 'a/b' }, padding: 'x'.repeat(300_000) })
    await problem(await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, large), 422)
    const listed = await t.api<{ events: { id: string; outcome: string }[] }>('/api/events')
    expect(listed.events[0]?.outcome).toBe('rejected')
    const rejected = await t.api<{ reason: string; payload: string }>(
      `/api/events/${listed.events[0]?.id}`,
    )
    expect(rejected.payload).toBe(large.slice(0, REJECTED_PAYLOAD_BYTES))
    expect(rejected.reason).toContain(
      `the first ${REJECTED_PAYLOAD_BYTES} of its ${large.length} bytes`,
    )
  })

  it('answers a callback that breaks the schema with 422 naming the field, and changes nothing', async () => {
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    const body = await problem(
      await report(first.callbackUrl, { state: 'passed', target_url: 'ftp://x' }),
      422,
    )
    expect(body.errors?.map((e) => e.pointer)).toEqual(['/state', '/target_url'])
    expect((await run(runId)).steps[0]?.state).not.toBe('success')
    const wrongType = await fetch(first.callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'success',
    })
    await problem(wrongType, 415)
  })

  it('answers unknown routes and bad query parameters with problem+json', async () => {
    await problem(await fetch(`${t.url}/nope`), 404)
    const bad = await fetch(`${t.url}/api/runs?state=done`, {
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect((await problem(bad, 400)).detail).toContain('state')
  })

  it('answers a known path asked with another method with 405 and the methods it takes', async () => {
    const admin = { authorization: `Bearer ${SECRETS.admin}` }
    const cases: [string, string, string][] = [
      ['GET', `/hooks/dockerhub/${SECRETS.dockerhub}`, 'POST'],
      ['PUT', '/hooks/distribution', 'POST'],
      ['GET', `/callbacks/${'A'.repeat(43)}`, 'POST'],
      ['DELETE', '/api/runs', 'GET, HEAD'],
      ['PUT', '/runs/0190e0c8-0000-7000-8000-000000000000', 'GET, HEAD'],
      ['GET', '/runs/0190e0c8-0000-7000-8000-000000000000/retry', 'POST'],
      ['POST', '/healthz', 'GET, HEAD'],
    ]
    for (const [method, path, allow] of cases) {
      const response = await fetch(`${t.url}${path}`, { method, headers: admin })
      const body = await problem(response, 405)
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow)
      expect(body.detail).toContain(method)
    }
    await problem(await fetch(`${t.url}/nope`, { method: 'PUT' }), 404)
  })
})

describe('ignored events', () => {
  beforeEach(async () => start())

  it('records a blob push as ignored and still answers 202', async () => {
    const response = await t.post('/hooks/distribution', fixture('distribution-blob-push.json'), {
      authorization: `Bearer ${SECRETS.distribution}`,
      'content-type': 'application/vnd.docker.distribution.events.v1+json',
    })
    expect(response.status).toBe(202)
    const { event_id, outcome } = (await response.json()) as { event_id: string; outcome: string }
    expect(outcome).toBe('ignored')
    const event = await t.api<{ outcome: string; reason: string; payload: string }>(
      `/api/events/${event_id}`,
    )
    expect(event.reason).toMatch(/blob/)
    expect(JSON.parse(event.payload).events[0].action).toBe('push')
  })

  it('records a push no chain matches as unmatched', async () => {
    const body = dockerHubPush()
    body.push_data.tag = 'dev'
    const accepted = await push(body)
    expect(accepted).toMatchObject({ outcome: 'unmatched', runs: [] })
  })
})

describe('the admin API', () => {
  beforeEach(async () => start())

  it('needs the admin token, as a bearer token or a basic-auth password', async () => {
    const none = await fetch(`${t.url}/api/runs`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    const wrong = await fetch(`${t.url}/api/runs`, { headers: { authorization: 'Bearer wrong' } })
    expect(wrong.status).toBe(401)
    const basic = Buffer.from(`admin:${SECRETS.admin}`).toString('base64')
    expect(
      (await fetch(`${t.url}/api/runs`, { headers: { authorization: `Basic ${basic}` } })).status,
    ).toBe(200)
    expect(
      (
        await fetch(`${t.url}/api/events`, {
          headers: { authorization: `Bearer ${SECRETS.admin}` },
        })
      ).status,
    ).toBe(200)
  })

  it('pages through runs newest first', async () => {
    for (let i = 0; i < 3; i++) {
      const body = dockerHubPush()
      body.push_data.tag = `v${i}`
      await push(body)
    }
    const first = await t.api<{ runs: RunJson[]; next_cursor: string }>('/api/runs?limit=2')
    expect(first.runs.map((r) => r.image.reference)).toEqual([
      'docker.io/svendowideit/testhook:v2',
      'docker.io/svendowideit/testhook:v1',
    ])
    const second = await t.api<{ runs: RunJson[]; next_cursor: string | null }>(
      `/api/runs?limit=2&cursor=${first.next_cursor}`,
    )
    expect(second.runs.map((r) => r.image.reference)).toEqual([
      'docker.io/svendowideit/testhook:v0',
    ])
    expect(second.next_cursor).toBeNull()
  })

  it('serves health, readiness and metrics', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' })
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({
      status: 'ready',
      database: process.env.HOOKCHAIN_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite',
    })
    await push()
    const metrics = await (await fetch(`${t.url}/metrics`)).text()
    expect(metrics).toContain('hookchain_events_total{source="dockerhub",outcome="started"} 1')
    expect(metrics).toMatch(/hookchain_runs\{state="running"\} 1/)
    expect(metrics).toMatch(/hookchain_outbox_depth \d/)
    const first = await dispatchFor((await push()).runs[0] as string, 1)
    await report(first.callbackUrl, { state: 'failure' })
    const after = await eventually(async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text()
      return /hookchain_step_duration_seconds_count\{kind="dispatch",state="failure"\} 1/.test(text)
        ? text
        : undefined
    })
    expect(after).toMatch(/hookchain_outbound_requests_total\{kind="dispatch",status="204"\} [1-9]/)
    expect(after).toMatch(
      /hookchain_dispatch_attempts_total\{kind="dispatch",outcome="delivered"\} [1-9]/,
    )
    expect(after).toMatch(/hookchain_callbacks_total\{state="failure",outcome="accepted"\} 1/)
    expect(after).toMatch(/hookchain_github_rate_limit_remaining \d+/)
  })
})

describe('the history pages', () => {
  beforeEach(async () => start())
  const basic = () => `Basic ${Buffer.from(`admin:${SECRETS.admin}`).toString('base64')}`

  it('ask a browser for the admin token and show the runs to one that has it', async () => {
    const refused = await fetch(`${t.url}/`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toContain('Basic')
    for (const path of ['/runs/x', '/events', '/events/x', '/assets/hookchain.css']) {
      expect((await fetch(`${t.url}${path}`)).status).toBe(401)
    }
    const runId = (await push()).runs[0] as string
    const page = await fetch(`${t.url}/`, { headers: { authorization: basic() } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain(`/runs/${runId}`)
  })

  it('retries a failed run from its page, and refuses the same form posted from another site', async () => {
    const runId = (await push()).runs[0] as string
    const first = await dispatchFor(runId, 1)
    await report(first.callbackUrl, { state: 'failure' })
    const crossSite = await fetch(`${t.url}/runs/${runId}/retry`, {
      method: 'POST',
      headers: { authorization: basic(), 'sec-fetch-site': 'cross-site' },
      redirect: 'manual',
    })
    expect(crossSite.status).toBe(403)
    expect((await run(runId)).state).toBe('failure')
    const unauthenticated = await fetch(`${t.url}/runs/${runId}/retry`, {
      method: 'POST',
      redirect: 'manual',
    })
    expect(unauthenticated.status).toBe(401)
    const retried = await fetch(`${t.url}/runs/${runId}/retry`, {
      method: 'POST',
      headers: { authorization: basic(), 'sec-fetch-site': 'same-origin' },
      redirect: 'manual',
    })
    expect(retried.status).toBe(303)
    expect(retried.headers.get('location')).toBe(`/runs/${runId}`)
    expect((await run(runId)).state).toBe('running')
  })
})

/**
 * Sends the head of a POST, then up to 8 MB of a body that is larger still (declared, or chunked
 * with no end), stopping at the server's first answer; then waits up to 2 s for the server to
 * close the connection.
 */
function postOversized(base: string, path: string, framing: 'declared' | 'chunked') {
  const { hostname, port } = new URL(base)
  const piece = 'x'.repeat(64 * 1024)
  const framed = framing === 'chunked' ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece
  return new Promise<{ head: string; closed: boolean; sent: number }>((resolve) => {
    const socket = connect(Number(port), hostname)
    let received = ''
    let sent = 0
    let waited: NodeJS.Timeout | undefined
    const finish = (closed: boolean) => {
      clearTimeout(waited)
      socket.destroy()
      resolve({ head: received.split('\r\n\r\n')[0] ?? '', closed, sent })
    }
    const send = () => {
      while (!received && !socket.destroyed && sent < 8 * 1024 * 1024) {
        sent += piece.length
        if (!socket.write(framed)) return
      }
      waited ??= setTimeout(() => finish(false), 2000)
    }
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
      waited ??= setTimeout(() => finish(false), 2000)
    })
    socket.on('drain', send)
    socket.on('error', () => {})
    socket.on('close', () => finish(true))
    const length =
      framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${64 * 1024 * 1024}`
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${length}\r\n\r\n`,
    )
    send()
  })
}
