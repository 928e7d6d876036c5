import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRegistryCallbackSender } from '../../../src/relay/deliverers/registry-callback-sender.js'
import type { Callback } from '../../../src/shared/callback.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'

const result: Callback = {
  state: 'success',
  description: 'chain release: 3 of 3 steps succeeded',
  context: 'hookchain',
  target_url: 'https://relay.example.com/runs/run-7',
}

let registry: HttpReceiver

beforeEach(async () => {
  registry = await startHttpReceiver()
})
afterEach(async () => {
  await registry.close()
})

describe('calling a registry back', () => {
  it("POSTs the run's result to a listed IP address", async () => {
    const sender = createRegistryCallbackSender({ allowedHosts: ['127.0.0.1'], allowHttp: true })

    const outcome = await sender.send(
      `${registry.url}/u/acme/app/hook/0123456789abcdef0123456789/`,
      result,
    )

    expect(outcome.kind).toBe('delivered')
    expect(registry.requests).toMatchObject([{ method: 'POST', body: result }])
    expect(registry.requests[0]?.headers['content-type']).toBe('application/json')
    expect(outcome.attempts).toMatchObject([
      { target: `${registry.url}/u/acme/app/hook/[redacted]/`, status: 200, error: null },
    ])
  })

  it('allows a listed host only on the listed port when the entry has one', async () => {
    const onOtherPort = createRegistryCallbackSender({
      allowedHosts: ['127.0.0.1:1'],
      allowHttp: true,
    })
    const onItsPort = createRegistryCallbackSender({
      allowedHosts: [`127.0.0.1:${new URL(registry.url).port}`],
      allowHttp: true,
    })

    const refused = await onOtherPort.send(registry.url, result)
    const allowed = await onItsPort.send(registry.url, result)

    expect(refused.kind === 'failed' && refused.error).toMatch(
      /is not in registry_callbacks.allowed_hosts/,
    )
    expect(allowed.kind).toBe('delivered')
    expect(registry.requests).toHaveLength(1)
  })

  it('refuses a host that is not allowed, without a request', async () => {
    const sender = createRegistryCallbackSender({
      allowedHosts: ['registry.hub.docker.com'],
      allowHttp: false,
    })

    const outcome = await sender.send('https://registry.evil.com/hook/1', result)

    expect(outcome).toEqual({
      kind: 'failed',
      attempts: [],
      error:
        'not sent to https://registry.evil.com/hook/1: callback host registry.evil.com is not in registry_callbacks.allowed_hosts',
    })
  })

  it('refuses plain http unless allowed', async () => {
    const sender = createRegistryCallbackSender({ allowedHosts: ['127.0.0.1'], allowHttp: false })

    const outcome = await sender.send(registry.url, result)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /uses http; set registry_callbacks.allow_http to allow plain http/,
    )
    expect(registry.requests).toHaveLength(0)
  })

  it('refuses a listed host name that resolves to a loopback address', async () => {
    const sender = createRegistryCallbackSender({ allowedHosts: ['localhost'], allowHttp: true })

    const outcome = await sender.send(`http://localhost:${new URL(registry.url).port}/hook`, result)

    expect(outcome.kind).toBe('failed')
    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address$/,
    )
    expect(outcome.attempts).toMatchObject([{ status: null }])
    expect(registry.requests).toHaveLength(0)
  })

  it('does not follow a redirect', async () => {
    registry.setReply({
      status: 307,
      headers: { location: 'http://169.254.169.254/latest/meta-data/' },
    })
    const sender = createRegistryCallbackSender({ allowedHosts: ['127.0.0.1'], allowHttp: true })

    const outcome = await sender.send(registry.url, result)

    expect(outcome.kind === 'failed' && outcome.error).toBe(
      'the registry answered 307 Temporary Redirect with Location http://169.254.169.254/latest/meta-data/; redirects are not followed: use the final URL',
    )
    expect(registry.requests).toHaveLength(1)
  })

  it('retries a registry that fails or does not answer', async () => {
    registry.replyNext(1, { status: 502 })
    registry.replyNext(1, { hang: true })
    const sender = createRegistryCallbackSender({
      allowedHosts: ['127.0.0.1'],
      allowHttp: true,
      timeoutMs: 200,
    })

    const failing = await sender.send(registry.url, result)
    const hanging = await sender.send(registry.url, result)

    expect(failing).toMatchObject({ kind: 'retry' })
    expect(hanging).toMatchObject({
      kind: 'retry',
      error: 'the registry did not answer within 0.2 s',
    })
  })

  it('ends on a registry that refuses the callback', async () => {
    registry.setReply({ status: 404, body: { message: 'hook expired' } })
    const sender = createRegistryCallbackSender({ allowedHosts: ['127.0.0.1'], allowHttp: true })

    const outcome = await sender.send(registry.url, result)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^the registry answered 404 Not Found \("\{"message":"hook expired"\}"\): check the registry's callback_url/,
    )
  })

  it('does not send a result that is not a valid callback', async () => {
    const sender = createRegistryCallbackSender({ allowedHosts: ['127.0.0.1'], allowHttp: true })

    const outcome = await sender.send(registry.url, { state: 'done' } as unknown as Callback)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /not a valid callback: \/state must be one of/,
    )
    expect(registry.requests).toHaveLength(0)
  })
})
