import { describe, expect, it } from 'vitest'
import { classifyAnswer, type HttpAnswer } from '../../src/action/relay-answer.js'

function answer(
  status: number,
  body: unknown = '',
  headers: Record<string, string> = {},
): HttpAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  return { status, statusText: '', header: (name) => lower[name] ?? null, body: text }
}
const json = { 'content-type': 'application/json; charset=utf-8' }
const problem = { 'content-type': 'application/problem+json' }

describe('classifyAnswer', () => {
  it.each([
    [
      'run.state of the relay answer',
      answer(200, { run: { state: 'running' }, step: { index: 1 } }, json),
      'running',
    ],
    ['a top-level state', answer(200, { state: 'success' }, json), 'success'],
    ['nothing from an empty answer', answer(204), ''],
    [
      'nothing from a body that is not JSON',
      answer(200, 'OK', { 'content-type': 'text/plain' }),
      '',
    ],
    ['nothing from broken JSON', answer(200, '{"run":', json), ''],
  ])('reads the chain state from %s', (_name, relayAnswer, chainState) => {
    expect(classifyAnswer(relayAnswer)).toEqual({
      kind: 'delivered',
      status: relayAnswer.status,
      chainState,
      runUrl: '',
    })
  })

  it.each([
    [
      'the run_url of the relay answer',
      { run_url: 'https://relay.example.com/runs/1' },
      'https://relay.example.com/runs/1',
    ],
    ['nothing from a run_url that is no web URL', { run_url: 'javascript:alert(1)' }, ''],
    ['nothing from a run_url that is not text', { run_url: 42 }, ''],
  ])('reads the run page from %s', (_name, body, runUrl) => {
    expect(classifyAnswer(answer(200, { run: { state: 'running' }, ...body }, json))).toMatchObject(
      {
        kind: 'delivered',
        runUrl,
      },
    )
  })

  it.each([
    [
      'the detail of a problem',
      answer(
        422,
        {
          title: 'Invalid callback',
          detail: '/state must be one of success, failure, error, pending',
        },
        problem,
      ),
      'The relay rejected the callback with HTTP 422: /state must be one of success, failure, error, pending',
    ],
    [
      'the title when there is no detail',
      answer(404, { title: 'Unknown or expired callback token' }, problem),
      'The relay rejected the callback with HTTP 404: Unknown or expired callback token',
    ],
    [
      'the start of a plain body',
      answer(409, `step already ended\n${'x'.repeat(500)}`, { 'content-type': 'text/plain' }),
      'The relay rejected the callback with HTTP 409: step already ended xxx',
    ],
    [
      'just the status of an empty body',
      answer(400),
      'The relay rejected the callback with HTTP 400',
    ],
  ])('quotes %s when the relay rejects the callback', (_name, relayAnswer, message) => {
    const outcome = classifyAnswer(relayAnswer)
    expect(outcome.kind).toBe('rejected')
    if (outcome.kind === 'rejected') {
      expect(outcome.message.startsWith(message)).toBe(true)
      expect(outcome.message.length).toBeLessThan(300)
    }
  })

  it('refuses a redirect, naming where it leads', () => {
    const outcome = classifyAnswer(
      answer(301, '', { location: 'https://relay2.example.com/callbacks/x' }),
    )
    expect(outcome).toEqual({
      kind: 'rejected',
      message: expect.stringContaining(
        'HTTP 301, a redirect to https://relay2.example.com/callbacks/x, which the Action does not follow',
      ),
    })
  })

  it.each([
    ['a server error', answer(500), 'HTTP 500', null],
    [
      'an unavailable relay that says when to come back',
      answer(503, { detail: 'database is starting' }, { ...problem, 'retry-after': '2' }),
      'HTTP 503: database is starting',
      2000,
    ],
    ['too many requests', answer(429, '', { 'retry-after': '1' }), 'HTTP 429', 1000],
  ])('retries %s', (_name, relayAnswer, message, retryAfterMs) => {
    expect(classifyAnswer(relayAnswer)).toEqual({ kind: 'retry', message, retryAfterMs })
  })
})
