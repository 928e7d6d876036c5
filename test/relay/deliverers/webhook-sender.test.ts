import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildWebhookPayload } from '../../../src/relay/deliverers/webhook-payload.js'
import { createWebhookSender } from '../../../src/relay/deliverers/webhook-sender.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'
import { startLoopbackServer } from '../../support/loopback-server.js'

const push: PushEvent = {
  source: 'dockerhub',
  registry: 'docker.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: 'ci-bot',
  pushedAt: '2026-11-26T21:31:57Z',
  callbackUrl: null,
}

function payloadFor(step = 3) {
  return buildWebhookPayload({
    callbackUrl: 'https://relay.example.com/callbacks/StepT0kenStepT0kenStepT0ken0123456789',
    runId: 'run-7',
    chain: 'release',
    ref: { phase: 'main', index: step, branch: 0 },
    step,
    steps: 3,
    attempt: 1,
    push,
  })
}

let receiver: HttpReceiver

beforeEach(async () => {
  receiver = await startHttpReceiver()
})
afterEach(async () => {
  await receiver.close()
})

describe('a webhook step', () => {
  it('POSTs the payload as JSON, signed so that standardwebhooks verifies it', async () => {
    const secret = 'changelog-s3cret'

    const outcome = await createWebhookSender().send(`${receiver.url}/hook`, secret, payloadFor())

    expect(outcome.kind).toBe('delivered')
    const [request] = receiver.requests
    expect(request?.method).toBe('POST')
    expect(request?.headers['content-type']).toBe('application/json')
    expect(request?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    const headers = request?.headers as Record<string, string>
    const asDocumented = new Webhook(`whsec_${Buffer.from(secret).toString('base64')}`)
    expect(asDocumented.verify(request?.rawBody ?? '', headers)).toEqual(payloadFor())
    const raw = new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' })
    expect(raw.verify(request?.rawBody ?? '', headers)).toEqual(payloadFor())
    expect(() =>
      new Webhook(`whsec_${Buffer.from('wrong').toString('base64')}`).verify(
        request?.rawBody ?? '',
        headers,
      ),
    ).toThrow(/No matching signature/)
  })

  it('uses a whsec_ secret as Standard Webhooks defines it', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`

    await createWebhookSender().send(receiver.url, secret, payloadFor())

    const [request] = receiver.requests
    expect(
      new Webhook(secret).verify(
        request?.rawBody ?? '',
        request?.headers as Record<string, string>,
      ),
    ).toEqual(payloadFor())
  })

  it('refuses a whsec_ secret that is not base64, without sending', async () => {
    const outcome = await createWebhookSender().send(receiver.url, 'whsec_%%%', payloadFor())

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /starts with whsec_ but the rest is not base64/,
    )
    expect(receiver.requests).toHaveLength(0)
  })

  it('sends id and timestamp but no signature without a secret', async () => {
    await createWebhookSender().send(receiver.url, null, payloadFor())

    const [request] = receiver.requests
    expect(request?.headers['webhook-signature']).toBeUndefined()
    expect(request?.headers['webhook-id']).toMatch(/^msg_[\w-]+$/)
    expect(Number(request?.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1)
  })

  it('keeps the message id when the same step is sent again, and not across steps', async () => {
    const sender = createWebhookSender()

    await sender.send(receiver.url, null, payloadFor(3))
    await sender.send(receiver.url, null, payloadFor(3))
    await sender.send(receiver.url, null, payloadFor(2))
    await sender.send(receiver.url, null, payloadFor(2), 'msg_given')

    const ids = receiver.requests.map((r) => r.headers['webhook-id'])
    expect(ids[0]).toBe(ids[1])
    expect(ids[2]).not.toBe(ids[0])
    expect(ids[3]).toBe('msg_given')
  })

  it('records one attempt without the callback token or URL secrets', async () => {
    const outcome = await createWebhookSender().send(
      `${receiver.url}/hook?token=abc123`,
      'changelog-s3cret',
      payloadFor(),
    )

    expect(outcome.attempts).toHaveLength(1)
    const [attempt] = outcome.attempts
    expect(attempt).toMatchObject({
      target: `${receiver.url}/hook?token=[redacted]`,
      status: 200,
      error: null,
      request: {
        method: 'POST',
        headers: { signed: true },
        body: { callback_url: 'https://relay.example.com/callbacks/[redacted]' },
      },
    })
    const recorded = JSON.stringify(outcome.attempts)
    expect(recorded).not.toContain('abc123')
    expect(recorded).not.toContain('StepT0ken')
    expect(recorded).not.toContain('changelog-s3cret')
  })
})

describe('what a webhook receiver answers', () => {
  it('does not follow a redirect, and names where it pointed', async () => {
    receiver.setReply({ status: 302, headers: { location: `${receiver.url}/elsewhere` } })

    const outcome = await createWebhookSender().send(`${receiver.url}/hook`, null, payloadFor())

    expect(outcome.kind === 'failed' && outcome.error).toBe(
      `the webhook receiver answered 302 Found with Location ${receiver.url}/elsewhere; redirects are not followed: use the final URL`,
    )
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook'])
  })

  it('stops reading an endless answer at the cap', async () => {
    receiver.setReply({ status: 200, endlessBody: true })

    const outcome = await createWebhookSender({ maxResponseBytes: 1024, timeoutMs: 5000 }).send(
      receiver.url,
      null,
      payloadFor(),
    )

    expect(outcome.kind).toBe('delivered')
    expect(outcome.attempts[0]?.durationMs).toBeLessThan(5000)
  })

  it('quotes only the start of a huge error body', async () => {
    receiver.setReply({ status: 400, body: `invalid payload ${'x'.repeat(2_000_000)}` })

    const outcome = await createWebhookSender().send(receiver.url, null, payloadFor())

    expect(outcome.kind).toBe('failed')
    const error = outcome.kind === 'failed' ? outcome.error : ''
    expect(error).toMatch(
      /^the webhook receiver answered 400 Bad Request \("invalid payload x+…"\): check the step's webhook url and secret$/,
    )
    expect(error.length).toBeLessThan(400)
  })

  it('retries a receiver that does not answer in time', async () => {
    receiver.setReply({ hang: true })

    const outcome = await createWebhookSender({ timeoutMs: 200 }).send(
      receiver.url,
      null,
      payloadFor(),
    )

    expect(outcome).toMatchObject({
      kind: 'retry',
      error: 'the webhook receiver did not answer within 0.2 s',
      retryAfterMs: null,
    })
    expect(outcome.attempts).toMatchObject([
      { status: null, error: 'the webhook receiver did not answer within 0.2 s' },
    ])
  })

  it.each([
    [503, {}, null],
    [429, { 'retry-after': '30' }, 30_000],
    [408, {}, null],
  ])('retries a %i answer', async (status, headers, retryAfterMs) => {
    receiver.setReply({ status, headers })

    const outcome = await createWebhookSender().send(receiver.url, null, payloadFor())

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs })
    expect(outcome.attempts[0]?.status).toBe(status)
  })

  it.each([400, 401, 404, 410])('ends the step on a %i answer', async (status) => {
    receiver.setReply({ status })

    const outcome = await createWebhookSender().send(receiver.url, null, payloadFor())

    expect(outcome.kind).toBe('failed')
  })

  it('retries when the receiver cannot be reached', async () => {
    const closed = await startLoopbackServer(() => {})
    await closed.close()

    const outcome = await createWebhookSender().send(closed.url, null, payloadFor())

    expect(outcome.kind === 'retry' && outcome.error).toMatch(
      /^could not reach the webhook receiver: .*ECONNREFUSED/,
    )
  })

  it('ends the step for a URL that is not http(s)', async () => {
    const outcome = await createWebhookSender().send('ftp://example.com/hook', null, payloadFor())

    expect(outcome).toMatchObject({ kind: 'failed', attempts: [] })
  })
})
