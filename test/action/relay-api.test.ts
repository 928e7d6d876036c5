import { afterEach, describe, expect, it } from 'vitest'
import type { HttpAnswer } from '../../src/action/relay-answer.js'
import { UnexpectedAnswerError } from '../../src/action/start/chain-run.js'
import {
  endpoint,
  outcomeOf,
  pollRun,
  RequestRefusedError,
} from '../../src/action/start/relay-api.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'

function answer(status: number, body = '', headers: Record<string, string> = {}): HttpAnswer {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  return { status, statusText: '', header: (name) => lower[name.toLowerCase()] ?? null, body }
}

const problem = (status: number, detail: string) =>
  answer(status, JSON.stringify({ type: 'about:blank', title: 'T', status, detail }), {
    'content-type': 'application/problem+json',
  })

const reading = {
  what: 'start chain "release"',
  read: (json: unknown) => {
    if (typeof json !== 'object' || json === null || !('run' in json))
      throw new UnexpectedAnswerError('the answer has no run')
    return json
  },
  refusalHint: ' (hint)',
  unexpectedHint: ' Is relay-url a relay?',
  now: Date.parse('2026-12-01T10:00:00Z'),
}

describe('outcomeOf', () => {
  it('reads a 2xx answer', () => {
    expect(outcomeOf(answer(201, '{"run":{}}'), reading)).toEqual({
      kind: 'done',
      value: { run: {} },
    })
  })

  it.each([
    [503, {}, null],
    [429, { 'retry-after': '7' }, 7000],
    [502, { 'retry-after': 'Tue, 01 Dec 2026 10:00:02 GMT' }, 2000],
  ])('retries HTTP %i', (status, headers, retryAfterMs) => {
    const outcome = outcomeOf(answer(status, '', headers), reading)
    expect(outcome).toEqual({ kind: 'retry', message: `HTTP ${status}`, retryAfterMs })
  })

  it('refuses any other 4xx at once, quoting the problem’s detail and the hint', () => {
    expect(() =>
      outcomeOf(problem(403, 'acme/app may not start chain "release".'), reading),
    ).toThrow(
      new RequestRefusedError(
        'Could not start chain "release": HTTP 403: acme/app may not start chain "release". (hint)',
      ),
    )
  })

  it('does not follow a redirect', () => {
    expect(() => outcomeOf(answer(308, '', { location: 'https://elsewhere/' }), reading)).toThrow(
      'Could not start chain "release": HTTP 308, a redirect to https://elsewhere/, which the Action does not follow. Is relay-url a relay?',
    )
  })

  it.each([
    [
      'not JSON',
      '<html>Sign in</html>',
      'Could not start chain "release": the answer (HTTP 200) is not JSON. Is relay-url a relay?',
    ],
    [
      'JSON of something else',
      '{"ok":true}',
      'Could not start chain "release": in the answer (HTTP 200), the answer has no run. Is relay-url a relay?',
    ],
  ])('refuses a 2xx answer that is %s', (_name, body, message) => {
    expect(() => outcomeOf(answer(200, body), reading)).toThrow(new RequestRefusedError(message))
  })
})

describe('endpoint', () => {
  it.each([
    ['https://relay.example.com', 'https://relay.example.com/api/runs/r1'],
    ['https://relay.example.com/', 'https://relay.example.com/api/runs/r1'],
    ['https://acme.example.com/hookchain/', 'https://acme.example.com/hookchain/api/runs/r1'],
    ['http://127.0.0.1:8080/hookchain', 'http://127.0.0.1:8080/hookchain/api/runs/r1'],
  ])('puts the API under %s', (base, expected) => {
    expect(endpoint(new URL(base), '/api/runs/r1').href).toBe(expected)
  })
})

describe('pollRun', () => {
  let receiver: HttpReceiver | undefined
  afterEach(async () => {
    await receiver?.close()
    receiver = undefined
  })

  it('asks for a change from the ETag it saw, with the run token', async () => {
    receiver = await startHttpReceiver({ reply: { status: 304 } })
    const outcome = await pollRun(
      new URL(receiver.url),
      { id: 'run 1', token: 'rt_1' },
      '"v3"',
      45,
      1000,
    )
    expect(outcome).toEqual({ kind: 'done', value: null })
    expect(receiver.requests[0]).toMatchObject({
      method: 'GET',
      path: '/api/runs/run%201?wait=45',
      headers: { authorization: 'Bearer rt_1', 'if-none-match': '"v3"' },
    })
  })

  it('reads the run and its ETag', async () => {
    const run = { id: 'r1', chain: 'release', state: 'success', steps: [] }
    receiver = await startHttpReceiver({
      reply: { status: 200, body: run, headers: { etag: '"v4"' } },
    })
    const outcome = await pollRun(new URL(receiver.url), { id: 'r1', token: 'rt_1' }, null, 1, 1000)
    expect(outcome).toEqual({
      kind: 'done',
      value: { run: { ...run, image: null }, etag: '"v4"' },
    })
    expect(receiver.requests[0]?.headers['if-none-match']).toBeUndefined()
  })

  it('waits for the relay as long as it was asked to hold the poll, and a timeout more', async () => {
    receiver = await startHttpReceiver({ reply: { hang: true } })
    const started = Date.now()
    const outcome = await pollRun(new URL(receiver.url), { id: 'r1', token: 't' }, '"v1"', 1, 200)
    expect(outcome).toEqual({
      kind: 'retry',
      message: 'no answer within 1.2 s',
      retryAfterMs: null,
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150)
  })
})
