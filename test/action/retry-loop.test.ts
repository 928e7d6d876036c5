import { describe, expect, it } from 'vitest'
import { NoAnswerError } from '../../src/action/http-request.js'
import type { HttpAnswer } from '../../src/action/relay-answer.js'
import { type AttemptOutcome, exchange, retrying } from '../../src/action/start/retry-loop.js'

const retry = (message: string, retryAfterMs: number | null = null): AttemptOutcome<string> => ({
  kind: 'retry',
  message,
  retryAfterMs,
})

function scripted(outcomes: AttemptOutcome<string>[]) {
  let clock = 0
  const sleeps: number[] = []
  const logged: string[] = []
  return {
    sleeps,
    logged,
    attempt: async () => outcomes.shift() ?? retry('out of script'),
    options: {
      backoffMs: 100,
      log: (message: string) => logged.push(message),
      now: () => clock,
      sleep: async (ms: number) => {
        sleeps.push(ms)
        clock += ms
      },
      random: () => 0,
    },
  }
}

describe('retrying', () => {
  it('retries with backoff, honouring Retry-After, until an attempt is done', async () => {
    const s = scripted([retry('HTTP 503'), retry('HTTP 429', 7000), { kind: 'done', value: 'run' }])
    expect(await retrying(s.attempt, { ...s.options, attempts: 4 })).toEqual({
      ok: true,
      value: 'run',
    })
    // A random of 0 keeps half of each ceiling: 100 ms, then 200 ms (not used: Retry-After).
    expect(s.sleeps).toEqual([50, 7000])
    expect(s.logged).toEqual([
      'Attempt 1 of 4: HTTP 503; retrying in 0.05 s.',
      'Attempt 2 of 4: HTTP 429; retrying in 7 s.',
    ])
  })

  it('stops after its attempts, with the last reason', async () => {
    const s = scripted([retry('a'), retry('b'), retry('c')])
    expect(await retrying(s.attempt, { ...s.options, attempts: 2 })).toEqual({
      ok: false,
      message: 'b',
      attempts: 2,
    })
  })

  it('starts no attempt that the deadline would not let it wait for', async () => {
    const s = scripted([])
    const result = await retrying(s.attempt, {
      ...s.options,
      attempts: Number.POSITIVE_INFINITY,
      deadline: 1000,
    })
    expect(result).toMatchObject({ ok: false, message: 'out of script' })
    expect(s.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(1000)
    expect(s.logged[0]).toBe('Attempt 1: out of script; retrying in 0.05 s.')
  })

  it('lets a refusal through at once', async () => {
    const s = scripted([])
    const refusal = new Error('HTTP 403')
    await expect(
      retrying(
        async () => {
          throw refusal
        },
        { ...s.options, attempts: 5 },
      ),
    ).rejects.toBe(refusal)
  })
})

describe('exchange', () => {
  it('turns no answer at all into a retry', async () => {
    const outcome = await exchange(
      async () => {
        throw new NoAnswerError('connect ECONNREFUSED 127.0.0.1:9')
      },
      () => ({ kind: 'done', value: 'never' }),
    )
    expect(outcome).toEqual(retry('connect ECONNREFUSED 127.0.0.1:9'))
  })

  it('reads an answer', async () => {
    const answer: HttpAnswer = { status: 200, statusText: 'OK', header: () => null, body: 'x' }
    expect(
      await exchange(
        async () => answer,
        (a) => ({ kind: 'done', value: a.body }),
      ),
    ).toEqual({
      kind: 'done',
      value: 'x',
    })
  })
})
