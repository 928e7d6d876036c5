import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NoAnswerError, postJson, sendRequest } from '../../src/action/http-request.js'
import { startHttpReceiver } from '../support/http-receiver.js'
import { type CallbackReceiver, startCallbackReceiver } from './callback-receiver.js'

let receiver: CallbackReceiver | undefined
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

describe('postJson', () => {
  it('POSTs the JSON body and reads the whole answer', async () => {
    receiver = await startCallbackReceiver([{ status: 200, body: { run: { state: 'running' } } }])
    const answer = await postJson(
      new URL(receiver.callbackUrl),
      '{"state":"success"}',
      { 'user-agent': 'test/1' },
      2000,
    )
    expect(answer.status).toBe(200)
    expect(answer.header('Content-Type')).toBe('application/json')
    expect(JSON.parse(answer.body)).toEqual({ run: { state: 'running' } })
    expect(receiver.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/callbacks/${receiver.token}`,
        body: '{"state":"success"}',
        headers: expect.objectContaining({
          'content-type': 'application/json',
          'user-agent': 'test/1',
        }),
      }),
    ])
  })

  it('hands a redirect back instead of following it', async () => {
    receiver = await startCallbackReceiver([
      { status: 307, headers: { location: '/callbacks/elsewhere' } },
      { status: 200 },
    ])
    const answer = await postJson(new URL(receiver.callbackUrl), '{}', {}, 2000)
    expect(answer.status).toBe(307)
    expect(answer.header('location')).toBe('/callbacks/elsewhere')
    expect(receiver.requests).toHaveLength(1)
  })

  it('gives up when the relay does not answer in time', async () => {
    receiver = await startCallbackReceiver([{ hang: true }])
    const started = Date.now()
    await expect(postJson(new URL(receiver.callbackUrl), '{}', {}, 200)).rejects.toThrow(
      new NoAnswerError('no answer within 0.2 s'),
    )
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('gives up when the answer stops halfway', async () => {
    receiver = await startCallbackReceiver([
      { status: 200, body: { run: { state: 'running' } }, stall: true },
    ])
    await expect(postJson(new URL(receiver.callbackUrl), '{}', {}, 200)).rejects.toThrow(
      new NoAnswerError('no answer within 0.2 s'),
    )
  })

  it('says why it could not connect', async () => {
    const port = await closedPort()
    await expect(
      postJson(new URL(`http://127.0.0.1:${port}/callbacks/x`), '{}', {}, 2000),
    ).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('sendRequest', () => {
  it('sends a GET without a body', async () => {
    const relay = await startHttpReceiver({ reply: { status: 200, body: { state: 'success' } } })
    try {
      const answer = await sendRequest(new URL(`${relay.url}/api/runs/r1?wait=5`), {
        method: 'GET',
        headers: { authorization: 'Bearer rt' },
        timeoutMs: 2000,
      })
      expect(JSON.parse(answer.body)).toEqual({ state: 'success' })
      expect(relay.requests[0]).toMatchObject({
        method: 'GET',
        path: '/api/runs/r1?wait=5',
        headers: { authorization: 'Bearer rt' },
        body: undefined,
      })
      expect(relay.requests[0]?.headers['content-length']).toBeUndefined()
    } finally {
      await relay.close()
    }
  })

  it('keeps as much of the body as it is told', async () => {
    const big = { steps: 'x'.repeat(200 * 1024) }
    const relay = await startHttpReceiver({ reply: { status: 200, body: big } })
    try {
      const url = new URL(relay.url)
      const whole = await sendRequest(url, {
        method: 'GET',
        headers: {},
        timeoutMs: 2000,
        maxBodyBytes: 1024 * 1024,
      })
      expect(JSON.parse(whole.body)).toEqual(big)
      const cut = await sendRequest(url, { method: 'GET', headers: {}, timeoutMs: 2000 })
      expect(cut.body.length).toBeLessThan(JSON.stringify(big).length)
    } finally {
      await relay.close()
    }
  })
})

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
