import Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'

interface RunJson {
  state: string
  steps: { state: string; attempts: { status: number | null; error: string | null }[] }[]
  registry_callback: { attempts: { status: number | null; error: string | null }[] } | null
}

let github: GitHubStandIn
let receiver: HttpReceiver
let t: TestRelay
let logs: string[]

beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(async () => {
  await github.close()
})
beforeEach(async () => {
  receiver = await startHttpReceiver()
})
afterEach(async () => {
  await t?.close()
  await receiver.close()
})

async function start(
  overrides: Parameters<typeof testSettings>[1] = {},
  outboundTimeoutMs = 10_000,
) {
  logs = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) })
  t = await startTestRelay(testSettings(github.url, overrides), { logger, outboundTimeoutMs })
}

async function push(tag = 'latest', body = JSON.parse(fixture('dockerhub-push.json'))) {
  body.push_data.tag = tag
  const response = await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, body)
  expect(response.status).toBe(202)
  return ((await response.json()) as { runs: string[] }).runs[0] as string
}

const run = (id: string) => t.api<RunJson>(`/api/runs/${id}`)
const until = (id: string, done: (r: RunJson) => boolean, timeoutMs = 10_000) =>
  eventually(async () => {
    const r = await run(id)
    return done(r) ? r : undefined
  }, timeoutMs)
const metrics = async () => (await fetch(`${t.url}/metrics`)).text()

describe('GitHub in trouble', () => {
  it('keeps answering while GitHub answers 500, records every attempt, and dispatches once it recovers', async () => {
    await start()
    github.fail(6, { status: 500 })
    const id = await push()
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200)
    const r = await until(id, (x) => x.steps[0]?.state === 'running')
    const statuses = r.steps[0]?.attempts.map((a) => a.status)
    expect(statuses?.filter((s) => s === 500)).toHaveLength(6)
    expect(statuses?.at(-1)).toBe(204)
    expect(await metrics()).toMatch(
      /hookchain_dispatch_attempts_total\{kind="dispatch",outcome="retry"\} [2-9]/,
    )
    expect(logs.some((line) => line.includes('trying again') && line.includes('500'))).toBe(true)
  })

  it('waits as long as a 429 and a secondary rate limit ask, then dispatches', async () => {
    await start()
    github.fail(1, { status: 429, headers: { 'retry-after': '1' } })
    github.fail(1, {
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    })
    const started = Date.now()
    const id = await push()
    const r = await until(id, (x) => x.steps[0]?.state === 'running')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
    expect(r.steps[0]?.attempts.map((a) => a.status)).toEqual([429, 403, 204])
    expect(r.steps[0]?.attempts[1]?.error).toMatch(/secondary rate limit/i)
  })

  it('gives up on a hanging GitHub after the timeout, and dispatches when it answers again', async () => {
    await start({}, 300)
    github.hang(1)
    const id = await push()
    const r = await until(id, (x) => x.steps[0]?.state === 'running')
    expect(r.steps[0]?.attempts[0]).toMatchObject({
      status: null,
      error: 'GitHub did not answer within 0.3 s',
    })
    expect(r.steps[0]?.attempts.at(-1)?.status).toBe(204)
  })
})

describe('webhook servers and registries in trouble', () => {
  const webhook = (): Chain => ({
    name: 'changelog',
    match: { repository: 'svendowideit/*', tags: null },
    stepTimeoutMs: 60_000,
    steps: [{ kind: 'webhook', url: `${receiver.url}/hook`, secret: null }],
  })

  it('bounds a webhook server that hangs and then streams an endless error body, and delivers once it answers', async () => {
    await start({ chains: [webhook()] }, 300)
    receiver.replyNext(1, { hang: true })
    receiver.replyNext(1, { status: 500, endlessBody: true })
    const id = await push()
    const r = await until(id, (x) => x.steps[0]?.state === 'running')
    const attempts = r.steps[0]?.attempts ?? []
    expect(attempts[0]).toMatchObject({ status: null })
    expect(attempts[1]).toMatchObject({ status: 500 })
    expect(attempts.at(-1)?.status).toBe(200)
    expect(receiver.streamedBytes()).toBeLessThan(16 * 1024 * 1024)
  })

  it('retries a registry callback host that hangs, records it, and leaves the run as it ended', async () => {
    await start(
      { chains: [webhook()], registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true } },
      300,
    )
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.callback_url = `${receiver.url}/registry/cb`
    const id = await push('latest', body)
    const [hook] = await receiver.waitForRequests(1)
    receiver.replyNext(2, { hang: true })
    const callbackUrl = t.local(
      String((hook?.body as { callback_url?: string } | undefined)?.callback_url),
    )
    await fetch(callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"state":"success"}',
    })
    const r = await until(id, (x) =>
      (x.registry_callback?.attempts ?? []).some((a) => a.status === 200),
    )
    expect(r.state).toBe('success')
    expect(r.registry_callback?.attempts.slice(0, 2).map((a) => a.status)).toEqual([null, null])
  })
})

describe('a database that cannot be written', () => {
  it('answers 503 with Retry-After while another process holds the lock, loses nothing acknowledged, and recovers', async () => {
    await start()
    const before = await push('v1')
    const other = new Database(t.databaseFile)
    other.exec('BEGIN EXCLUSIVE')
    try {
      const refused = await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, {
        ...JSON.parse(fixture('dockerhub-push.json')),
        push_data: { tag: 'v2', pusher: 'x', pushed_at: 1 },
      })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(refused.headers.get('content-type')).toContain('application/problem+json')
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200)
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    expect(logs.some((line) => line.includes('database unavailable'))).toBe(true)
    const after = await push('v3')
    expect((await run(before)).state).toBe('running')
    expect((await run(after)).state).toBe('running')
    const events = await t.api<{ events: { pushes: { tag: string }[] }[] }>('/api/events')
    expect(events.events.map((e) => e.pushes[0]?.tag)).toEqual(['v3', 'v1'])
  })
})
