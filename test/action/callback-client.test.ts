import { afterEach, describe, expect, it } from 'vitest'
import {
  CallbackRejectedError,
  CallbackUndeliveredError,
  type DeliveryOptions,
  sendCallback,
} from '../../src/action/callback-client.js'
import type { Callback } from '../../src/shared/callback.js'
import { type CallbackReceiver, RUN_RUNNING, startCallbackReceiver } from './callback-receiver.js'

const CALLBACK: Callback = {
  state: 'success',
  description: '387 tests PASSED',
  context: 'Tests / pytest',
  target_url: 'https://github.com/acme/tests/actions/runs/42',
}

let receiver: CallbackReceiver | undefined
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

/** Options that record the waits and log instead of waiting. */
function options(overrides: Partial<DeliveryOptions> = {}) {
  const sleeps: number[] = []
  const log: string[] = []
  return {
    sleeps,
    log,
    options: {
      timeoutMs: 2000,
      retries: 3,
      backoffMs: 100,
      userAgent: 'hookchain-action/test',
      log: (message: string) => log.push(message),
      sleep: async (ms: number) => {
        sleeps.push(ms)
      },
      random: () => 1,
      ...overrides,
    } satisfies DeliveryOptions,
  }
}

async function send(
  answers: Parameters<typeof startCallbackReceiver>[0],
  overrides: Partial<DeliveryOptions> = {},
) {
  receiver = await startCallbackReceiver(answers)
  const run = options(overrides)
  const result = sendCallback(new URL(receiver.callbackUrl), CALLBACK, run.options)
  return { result, ...run, receiver }
}

describe('sendCallback', () => {
  it('delivers the callback as JSON and reads the chain state', async () => {
    const { result, receiver } = await send([{ status: 200, body: RUN_RUNNING }])
    expect(await result).toEqual({ status: 200, chainState: 'running', runUrl: '', attempts: 1 })
    expect(receiver.requests).toHaveLength(1)
    expect(JSON.parse(receiver.requests[0]?.body ?? '')).toEqual(CALLBACK)
    expect(receiver.requests[0]?.headers['user-agent']).toBe('hookchain-action/test')
  })

  it('retries a 503 and succeeds on the next attempt', async () => {
    const { result, receiver, sleeps, log } = await send([
      { status: 503 },
      { status: 200, body: RUN_RUNNING },
    ])
    expect(await result).toEqual({ status: 200, chainState: 'running', runUrl: '', attempts: 2 })
    expect(receiver.requests).toHaveLength(2)
    expect(sleeps).toEqual([100])
    expect(log).toEqual(['Attempt 1 of 4: HTTP 503 Service Unavailable; retrying in 0.1 s.'])
  })

  it('backs off exponentially between attempts', async () => {
    const { result, sleeps } = await send([
      { status: 500 },
      { status: 502 },
      { status: 504 },
      { status: 200 },
    ])
    expect((await result).attempts).toBe(4)
    expect(sleeps).toEqual([100, 200, 400])
  })

  it('waits as long as Retry-After asks', async () => {
    const { result, sleeps } = await send([
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 200 },
    ])
    expect((await result).attempts).toBe(2)
    expect(sleeps).toEqual([3000])
  })

  it('fails at once, quoting the relay, when it rejects the callback', async () => {
    const { result, receiver } = await send([
      {
        status: 422,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Invalid callback',
          status: 422,
          detail: '/description must be at most 255 characters',
        }),
      },
    ])
    await expect(result).rejects.toThrow(CallbackRejectedError)
    // Node names 422 "Unprocessable Entity" or, after RFC 9110, "Unprocessable Content".
    await expect(result).rejects.toThrow(
      /^The relay rejected the callback with HTTP 422 Unprocessable \w+: \/description must be at most 255 characters$/,
    )
    expect(receiver.requests).toHaveLength(1)
  })

  it('does not follow a redirect', async () => {
    const { result, receiver } = await send([
      { status: 308, headers: { location: 'https://relay2.example.com/callbacks/x' } },
    ])
    await expect(result).rejects.toThrow(CallbackRejectedError)
    await expect(result).rejects.toThrow('a redirect to https://relay2.example.com/callbacks/x')
    expect(receiver.requests).toHaveLength(1)
  })

  it('gives up after the last retry, saying what went wrong', async () => {
    const { result, receiver } = await send([{ status: 500, body: 'database is down' }], {
      retries: 2,
    })
    await expect(result).rejects.toThrow(CallbackUndeliveredError)
    await expect(result).rejects.toThrow(
      `The relay at ${new URL(receiver.callbackUrl).origin} did not take the callback after 3 attempts: HTTP 500 Internal Server Error: database is down`,
    )
    expect(receiver.requests).toHaveLength(3)
  })

  it('retries an attempt that times out, then gives up', async () => {
    const started = Date.now()
    const { result, receiver } = await send([{ hang: true }], { retries: 1, timeoutMs: 150 })
    await expect(result).rejects.toThrow(
      /did not take the callback after 2 attempts: no answer within 0\.15 s$/,
    )
    expect(receiver.requests).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('retries a connection the relay dropped, and delivers on the next attempt', async () => {
    const { result, receiver, log } = await send([
      { reset: true },
      { status: 200, body: RUN_RUNNING },
    ])
    expect(await result).toEqual({ status: 200, chainState: 'running', runUrl: '', attempts: 2 })
    expect(receiver.requests).toHaveLength(2)
    expect(log).toEqual(['Attempt 1 of 4: socket hang up (ECONNRESET); retrying in 0.1 s.'])
  })

  it('retries a relay that refuses the connection, then gives up saying so', async () => {
    const closed = await startCallbackReceiver()
    await closed.close()
    const run = options({ retries: 1 })
    const result = sendCallback(new URL(closed.callbackUrl), CALLBACK, run.options)
    await expect(result).rejects.toThrow(CallbackUndeliveredError)
    await expect(result).rejects.toThrow(/after 2 attempts: .*ECONNREFUSED/)
    expect(run.sleeps).toHaveLength(1)
  })

  it('makes one attempt when retries is 0', async () => {
    const { result, receiver } = await send([{ status: 503 }], { retries: 0 })
    await expect(result).rejects.toThrow('after 1 attempt: HTTP 503')
    expect(receiver.requests).toHaveLength(1)
  })
})
