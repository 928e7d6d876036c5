import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import { type FaultRelay, report, startFaultRelay } from './fault-relay.js'
import { startResettingProxy } from './resetting-proxy.js'

/** More than the relay may ever read of an answer it does not need. */
const READ_BOUND = 16 * 1024 * 1024

let github: GitHubStandIn
let receiver: HttpReceiver
let t: FaultRelay | undefined

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
  t = undefined
  await receiver.close()
})

/** A key in the webhook URL's query, as some receivers take it: the log must not show it. */
const WEBHOOK_KEY = 'whk0123456789abcdef0123'

const webhookChain = (base = receiver.url): Chain => ({
  name: 'changelog',
  match: { repository: 'svendowideit/*', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'webhook', url: `${base}/hook?key=${WEBHOOK_KEY}`, secret: null }],
})

async function start(options: { registryCallbacks?: boolean; webhookBase?: string } = {}) {
  t = await startFaultRelay(
    github.url,
    {
      chains: [webhookChain(options.webhookBase)],
      ...(options.registryCallbacks
        ? { registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true } }
        : {}),
    },
    { outboundTimeoutMs: 300 },
  )
  return t
}

/** Pushes with the registry's callback_url on the receiver; answers the run and its step's callback URL. */
async function pushWithRegistryCallback(relay: FaultRelay) {
  const id = await relay.push('latest', (body) => {
    body.callback_url = `${receiver.url}/registry/cb`
  })
  const [hook] = await receiver.waitForRequests(1)
  const callbackUrl = (hook?.body as { callback_url?: string } | undefined)?.callback_url
  return { id, callbackUrl: relay.local(String(callbackUrl)) }
}

describe('a webhook step server in trouble', () => {
  it('bounds a server that hangs and then streams an endless error body, and delivers once it answers', async () => {
    const relay = await start()
    receiver.replyNext(1, { hang: true })
    receiver.replyNext(1, { status: 500, endlessBody: true })
    const id = await relay.push('latest')
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    const attempts = r.steps[0]?.attempts ?? []
    expect(attempts.map((a) => a.status)).toEqual([null, 500, 200])
    expect(attempts[0]?.error).toMatch(/0\.3 s/)
    expect(receiver.streamedBytes()).toBeLessThan(READ_BOUND)
    expect(
      await relay.metric('hookchain_dispatch_attempts_total', {
        kind: 'webhook',
        outcome: 'retry',
      }),
    ).toBe(2)
    expect(relay.logged(/step 1: .*trying again/)).toHaveLength(2)
    expect(relay.logged(/step 1 dispatched to .*\/hook\?key=\[redacted\]$/)).toHaveLength(1)
    expect(relay.logs.join('\n')).not.toContain(WEBHOOK_KEY)
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
  })

  it('retries a server that resets the connection', async () => {
    const proxy = await startResettingProxy(receiver.url, 2)
    try {
      const relay = await start({ webhookBase: proxy.url })
      const id = await relay.push('latest')
      const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
      const attempts = r.steps[0]?.attempts ?? []
      expect(attempts.map((a) => a.status)).toEqual([null, null, 200])
      expect(attempts[0]?.error).toMatch(/ECONNRESET|reset/i)
      expect(receiver.requests).toHaveLength(1)
    } finally {
      await proxy.close()
    }
  })
})

describe('a registry callback host in trouble', () => {
  it('retries a host that hangs, records it, and leaves the run as it ended', async () => {
    const relay = await start({ registryCallbacks: true })
    const { id, callbackUrl } = await pushWithRegistryCallback(relay)
    receiver.replyNext(2, { hang: true })
    expect((await report(callbackUrl, 'success')).status).toBe(200)
    const r = await relay.until(id, (x) =>
      (x.registry_callback?.attempts ?? []).some((a) => a.status === 200),
    )
    expect(r.state).toBe('success')
    expect(r.registry_callback?.attempts.map((a) => a.status)).toEqual([null, null, 200])
    expect(
      await relay.metric('hookchain_dispatch_attempts_total', {
        kind: 'registry-callback',
        outcome: 'retry',
      }),
    ).toBe(2)
    expect(relay.logged(/registry callback: .*trying again/)).toHaveLength(2)
  })

  it('reads only the start of a host that answers an endless body', async () => {
    const relay = await start({ registryCallbacks: true })
    const { id, callbackUrl } = await pushWithRegistryCallback(relay)
    receiver.replyNext(1, { status: 502, endlessBody: true })
    receiver.replyNext(1, { status: 200, endlessBody: true })
    expect((await report(callbackUrl, 'failure')).status).toBe(200)
    const r = await relay.until(id, (x) => (x.registry_callback?.attempts.length ?? 0) >= 2)
    expect(r.state).toBe('failure')
    expect(r.registry_callback?.attempts.map((a) => a.status)).toEqual([502, 200])
    expect(receiver.streamedBytes()).toBeLessThan(READ_BOUND)
    expect(relay.logged(/registry callback delivered/)).toHaveLength(1)
  })
})

describe('a webhook receiver that echoes the request in its error answer', () => {
  it('leaves no callback token and no secret in the history or the log, and the echoed token dies', async () => {
    const relay = await start()
    receiver.replyNext(1, { status: 503, echo: true })
    const id = await relay.push('latest')
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    const [echoed, delivered] = receiver.requests
    const leaked = String((echoed?.body as { callback_url?: string } | undefined)?.callback_url)
    const token = leaked.slice(leaked.lastIndexOf('/') + 1)
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/)
    const failed = r.steps[0]?.attempts[0]
    expect(failed?.status).toBe(503)
    expect(failed?.error).toContain('/callbacks/[redacted]')
    const history = JSON.stringify(await relay.run(id))
    expect(history).not.toContain(token)
    expect(relay.logs.join('\n')).not.toContain(token)
    for (const secret of Object.values(relay.settings.secrets)) {
      expect(history).not.toContain(secret)
    }

    // The token the receiver showed no longer reports the step; the one it was sent again does.
    const stale = await fetch(relay.local(leaked), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"state":"success"}',
    })
    expect(stale.status).toBe(404)
    const current = String((delivered?.body as { callback_url?: string } | undefined)?.callback_url)
    const fresh = await fetch(relay.local(current), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"state":"success"}',
    })
    expect(fresh.status).toBe(200)
  })
})
