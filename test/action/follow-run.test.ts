import { describe, expect, it } from 'vitest'
import { MAX_BACKOFF_MS } from '../../src/action/retry-policy.js'
import type { ChainRun } from '../../src/action/start/chain-run.js'
import {
  type FollowOptions,
  followRun,
  POLL_WITHOUT_ETAG_MS,
  waitSecondsFor,
} from '../../src/action/start/follow-run.js'
import type { Polled } from '../../src/action/start/relay-api.js'
import type { AttemptOutcome } from '../../src/action/start/retry-loop.js'

function run(state: string, version: number): ChainRun {
  return {
    id: 'run_1',
    chain: 'release',
    state,
    image: null,
    steps: [
      {
        index: 1,
        kind: 'dispatch',
        target: 'acme/tests',
        state: version > 1 ? 'success' : 'running',
        description: null,
        target_url: null,
        branches: [],
      },
    ],
  }
}

type Script = (call: {
  etag: string | null
  waitSeconds: number
  at: number
}) => AttemptOutcome<Polled> | Error

/**
 * Follows a run whose polls `script` answers, on a clock of its own: a held poll that comes
 * back unchanged takes its wait, a sleep its delay.
 */
async function follow(script: Script, options: Partial<FollowOptions> & { waitMs?: number } = {}) {
  let clock = 0
  const calls: { etag: string | null; waitSeconds: number; at: number }[] = []
  const sleeps: number[] = []
  const logged: string[] = []
  const seen: string[] = []
  const result = await followRun({
    run: run('running', 1),
    deadline: options.waitMs ?? 600_000,
    poll: async (etag, waitSeconds) => {
      const call = { etag, waitSeconds, at: clock }
      calls.push(call)
      const answer = script(call)
      if (answer instanceof Error) throw answer
      if (answer.kind === 'done' && answer.value === null) clock += waitSeconds * 1000
      return answer
    },
    onRun: (r) => seen.push(`${r.state}/${r.steps[0]?.state}`),
    backoffMs: 1000,
    log: (message) => logged.push(message),
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock += ms
    },
    random: () => 1,
    ...options,
  })
  return { result, calls, sleeps, logged, seen, clock }
}

const version = (state: string, n: number): AttemptOutcome<Polled> => ({
  kind: 'done',
  value: { run: run(state, n), etag: `"v${n}"` },
})
const down: AttemptOutcome<Polled> = {
  kind: 'retry',
  message: 'connect ECONNREFUSED',
  retryAfterMs: null,
}

describe('followRun', () => {
  it('follows each version of the run with the last ETag until the run ends', async () => {
    const answers = [
      version('running', 1),
      { kind: 'done', value: null } as const,
      version('running', 2),
      version('success', 3),
    ]
    const { result, calls, seen } = await follow(() => answers.shift() ?? version('success', 3))
    expect(result).toEqual({ ended: true, run: run('success', 3) })
    expect(calls.map((call) => call.etag)).toEqual([null, '"v1"', '"v1"', '"v2"'])
    expect(seen).toEqual([
      'running/running',
      'running/running',
      'running/success',
      'success/success',
    ])
  })

  it('asks the relay to hold each poll for what is left of the wait, 60 s at most', async () => {
    const answers = [version('running', 1)]
    const { result, calls } = await follow(() => answers.shift() ?? { kind: 'done', value: null }, {
      waitMs: 150_000,
    })
    expect(calls.map((call) => call.waitSeconds)).toEqual([60, 60, 60, 30])
    expect(result).toMatchObject({ ended: false, lastProblem: null })
  })

  it('retries a poll through a relay restart, and starts its backoff again afterwards', async () => {
    const answers = [
      version('running', 1),
      down,
      down,
      down,
      version('running', 2),
      down,
      version('success', 3),
    ]
    const { result, sleeps, logged } = await follow(() => answers.shift() ?? down)
    expect(result.ended).toBe(true)
    expect(sleeps).toEqual([1000, 2000, 4000, 1000])
    expect(logged[0]).toBe('Attempt 1: connect ECONNREFUSED; retrying in 1 s.')
  })

  it('gives up at the deadline when the relay stays down, with what it last said', async () => {
    const answers = [version('running', 1)]
    const { result, clock, sleeps } = await follow(() => answers.shift() ?? down, {
      waitMs: 120_000,
    })
    expect(result).toEqual({
      ended: false,
      run: run('running', 1),
      lastProblem: 'connect ECONNREFUSED',
    })
    expect(Math.max(...sleeps)).toBe(MAX_BACKOFF_MS)
    expect(clock).toBeLessThanOrEqual(120_000)
  })

  it('stops at once when the relay refuses', async () => {
    const refusal = new Error('Could not read run run_1: HTTP 401 Unauthorized')
    await expect(follow(() => refusal)).rejects.toThrow(refusal)
  })

  it('does not hammer a relay that sends no ETag', async () => {
    const answers: AttemptOutcome<Polled>[] = [
      { kind: 'done', value: { run: run('running', 1), etag: null } },
      { kind: 'done', value: { run: run('running', 1), etag: null } },
      { kind: 'done', value: { run: run('success', 2), etag: null } },
    ]
    const { calls, sleeps } = await follow(() => answers.shift() ?? version('success', 2))
    expect(calls.map((call) => call.at)).toEqual([
      0,
      POLL_WITHOUT_ETAG_MS,
      2 * POLL_WITHOUT_ETAG_MS,
    ])
    expect(sleeps).toEqual([POLL_WITHOUT_ETAG_MS, POLL_WITHOUT_ETAG_MS])
  })

  it('does not poll a run that has already ended', async () => {
    const { result, calls } = await follow(() => version('running', 9), { run: run('failure', 2) })
    expect(result).toEqual({ ended: true, run: run('failure', 2) })
    expect(calls).toEqual([])
  })
})

describe('waitSecondsFor', () => {
  it.each([
    [3_600_000, 60],
    [60_000, 60],
    [59_001, 60],
    [1_500, 2],
    [1, 1],
    [0, 1],
    [-5_000, 1],
  ])('holds a poll for %i ms left for %i s', (left, seconds) => {
    expect(waitSecondsFor(left)).toBe(seconds)
  })
})
