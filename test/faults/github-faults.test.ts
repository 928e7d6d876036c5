import { describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import { twoSteps } from '../relay/relay-harness.js'
import { type FaultRelay, report, standInPerTest } from './fault-relay.js'
import { startResettingProxy } from './resetting-proxy.js'

const { github, startRelay } = standInPerTest()

function start(
  options: { timeoutMs?: number; chain?: Chain; apiUrl?: string; leaseMs?: number } = {},
) {
  return startRelay(
    options.apiUrl ?? github().url,
    options.chain ? { chains: [options.chain] } : {},
    {
      outboundTimeoutMs: options.timeoutMs ?? 10_000,
      outbox: options.leaseMs ? { leaseMs: options.leaseMs } : undefined,
    },
  )
}

const callbackOf = (relay: FaultRelay, runId: string) => {
  const dispatch = github().dispatches.findLast((d) => d.clientPayload?.run_id === runId)
  return relay.local(String(dispatch?.clientPayload?.callback_url))
}

describe('GitHub in trouble', () => {
  it('acknowledges pushes while GitHub answers 500, records every attempt, and dispatches once it recovers', async () => {
    const relay = await start()
    // Each outbox try is one request: four fail, with backoff between them, the fifth goes through.
    github().fail(4, { status: 500 })
    const id = await relay.push('latest')
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)

    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    const attempts = r.steps[0]?.attempts ?? []
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500, 204])
    expect(attempts[0]?.error).toBe(
      'GitHub answered 500 Internal Server Error ("Server Error"); trying again later',
    )
    expect(await relay.metric('hookchain_dispatch_attempts_total', { outcome: 'retry' })).toBe(4)
    expect(await relay.metric('hookchain_dispatch_attempts_total', { outcome: 'delivered' })).toBe(
      1,
    )
    expect(relay.logged(/step 1: GitHub answered 500.*trying again/)).not.toEqual([])

    // The run goes on as if nothing happened.
    expect((await report(callbackOf(relay, id), 'success')).status).toBe(200)
    await relay.until(id, (x) => x.steps[1]?.state === 'running')
  })

  it('waits as long as a 429 and a secondary rate limit ask, records why, then dispatches', async () => {
    const relay = await start()
    github().fail(1, { status: 429, headers: { 'retry-after': '1' } })
    github().fail(1, {
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    })
    const started = Date.now()
    const id = await relay.push('latest')
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
    const attempts = r.steps[0]?.attempts ?? []
    expect(attempts.map((a) => a.status)).toEqual([429, 403, 204])
    expect(attempts[1]?.error).toMatch(/secondary rate limit; trying again in 1 s/)
    expect(await relay.metric('hookchain_dispatch_attempts_total', { outcome: 'retry' })).toBe(2)
    const remaining = await relay.metric('hookchain_github_rate_limit_remaining', {})
    expect(remaining).toBeGreaterThan(0)
    expect(remaining).toBeLessThan(5000)
    expect(relay.logged(/secondary rate limit/)).not.toEqual([])
  })

  it('gives up on a hanging GitHub after the timeout, and dispatches when it answers again', async () => {
    const relay = await start({ timeoutMs: 300 })
    github().hang(1)
    const id = await relay.push('latest')
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    expect(r.steps[0]?.attempts[0]).toMatchObject({
      status: null,
      error: 'GitHub did not answer within 0.3 s',
    })
    expect(r.steps[0]?.attempts.at(-1)?.status).toBe(204)
    expect(relay.logged(/did not answer within 0.3 s; trying again/)).not.toEqual([])
  })

  it('keeps a dispatch that outlasts its lease to itself: GitHub gets it once while it waits', async () => {
    // The request hangs for 2.5 s, well past the 0.6 s lease: without renewal the relay would
    // claim the job again at the next poll and send a second dispatch meanwhile.
    const relay = await start({ timeoutMs: 2500, leaseMs: 600 })
    github().hang(1)
    const id = await relay.push('latest')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const sent = () => github().requests.filter((r) => r.path.endsWith('/dispatches'))
    expect(sent()).toHaveLength(1)
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    expect(r.steps[0]?.attempts.map((a) => a.status)).toEqual([null, 204])
    expect(sent()).toHaveLength(2)
  })

  it('retries when GitHub resets the connection, and dispatches through a fresh one', async () => {
    const proxy = await startResettingProxy(github().url, 3)
    try {
      const relay = await start({ apiUrl: proxy.url })
      const id = await relay.push('latest')
      const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
      const attempts = r.steps[0]?.attempts ?? []
      expect(attempts.map((a) => a.status)).toEqual([null, null, null, 204])
      expect(attempts[0]?.error).toContain(`could not reach GitHub at ${proxy.url}`)
      expect(await relay.metric('hookchain_dispatch_attempts_total', { outcome: 'retry' })).toBe(3)
    } finally {
      await proxy.close()
    }
  })

  it('says why a step timed out in the outbox: the last answer GitHub gave', async () => {
    const relay = await start({ chain: { ...twoSteps, stepTimeoutMs: 1000 } })
    github().fail(1, { status: 429, headers: { 'retry-after': '60' } })
    const id = await relay.push('latest')
    const ended = await relay.until(id, (x) => x.state !== 'running')
    const why = ended.steps[0]?.attempts[0]?.error
    expect(why).toMatch(/429/)
    expect(ended.steps[0]?.description).toBe(`Not dispatched within 1s: ${why}`)
  })

  it('ends a step GitHub stays down for at its timeout, and a retry resumes the run once GitHub is back', async () => {
    const relay = await start({ chain: { ...twoSteps, stepTimeoutMs: 1000 } })
    github().fail(1_000_000, { status: 503 })
    const id = await relay.push('latest')
    const ended = await relay.until(id, (x) => x.state !== 'running')
    expect(ended.state).toBe('error')
    expect(ended.steps[0]?.description).toMatch(
      /^Not dispatched within 1s: GitHub answered 503 Service Unavailable/,
    )
    expect(ended.steps[1]?.state).toBe('skipped')

    // GitHub answers again: a retry dispatches the step, and the run goes on to the end.
    github().recover()
    const retried = await fetch(`${relay.url}/api/runs/${id}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${relay.settings.adminToken}` },
    })
    expect(retried.status).toBe(202)
    await relay.until(id, (x) => x.steps[0]?.state === 'running')
    expect((await report(callbackOf(relay, id), 'success')).status).toBe(200)
    await relay.until(id, (x) => x.steps[1]?.state === 'running')
    expect(github().dispatches.filter((d) => d.clientPayload?.run_id === id)).toHaveLength(2)
    expect((await report(callbackOf(relay, id), 'success')).status).toBe(200)
    expect((await relay.run(id)).state).toBe('success')
  })
})
