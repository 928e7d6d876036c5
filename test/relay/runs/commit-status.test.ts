import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { Run } from '../../../src/relay/model/run.js'
import {
  commitStatusJobs,
  commitStatusOf,
  STATUS_DESCRIPTION_MAX,
  statusDescription,
} from '../../../src/relay/runs/commit-status.js'
import { advance, type RunInput, startRun } from '../../../src/relay/runs/engine.js'
import { newRun, ref, release } from './run-fixture.js'

const t0 = new Date('2026-11-26T21:32:00Z')
const RUN_URL = 'https://relay.example.com/runs/r1'
const TEMPLATE = 'hookchain/{chain}/{step}'
const commit = { repository: 'acme/app', sha: 'a'.repeat(40), from: 'start-request' as const }
const reporting: Chain = { ...release, reportToCommit: { context: TEMPLATE } }

function started(): Run {
  return startRun({ ...newRun({}, reporting), sourceCommit: commit }, t0).run
}

function next(run: Run, input: RunInput): Run {
  const result = advance(run, input, t0)
  if (!result.ok) throw new Error(result.message)
  return result.run
}

const report = (n: number, state: 'success' | 'failure' | 'pending', description?: string) =>
  ({
    type: 'callback',
    ref: ref(n),
    generation: 1,
    callback: {
      state,
      description,
      target_url: `https://github.com/acme/tests/actions/runs/${n}`,
    },
  }) as const

describe('commit statuses', () => {
  it('are one job per step that changed state, and one for the run when its state did', () => {
    const first = started()
    expect(commitStatusJobs(null, first, reporting, t0).map((j) => j.ref)).toEqual([null, ref(1)])
    const second = next(first, report(1, 'success'))
    expect(commitStatusJobs(first, second, reporting, t0).map((j) => j.ref)).toEqual([
      ref(1),
      ref(2),
    ])
    const progress = next(second, report(2, 'pending', 'half way'))
    expect(commitStatusJobs(second, progress, reporting, t0).map((j) => j.ref)).toEqual([ref(2)])
    const failed = next(progress, report(2, 'failure', '3 tests FAILED'))
    expect(commitStatusJobs(progress, failed, reporting, t0).map((j) => j.ref)).toEqual([
      null,
      ref(2),
    ])
  })

  it('are none without report_to_commit, or while the commit is unknown, and all once it is found', () => {
    const run = started()
    expect(commitStatusJobs(null, run, release, t0)).toEqual([])
    const unknown = { ...run, sourceCommit: null }
    expect(commitStatusJobs(null, unknown, reporting, t0)).toEqual([])
    expect(commitStatusJobs(unknown, run, reporting, t0).map((j) => j.ref)).toEqual([null, ref(1)])
  })

  it('say how each step and the run stand, linking to the step or to the run page', () => {
    let run = started()
    expect(commitStatusOf(run, ref(1), TEMPLATE, RUN_URL)).toEqual({
      state: 'pending',
      context: 'hookchain/release/1',
      description: 'Sending to acme/integration-tests',
      target_url: RUN_URL,
    })
    expect(commitStatusOf(run, ref(2), TEMPLATE, RUN_URL)).toBeNull()
    expect(commitStatusOf(run, null, TEMPLATE, RUN_URL)).toEqual({
      state: 'pending',
      context: 'hookchain/release/run',
      description: 'Chain release is running',
      target_url: RUN_URL,
    })
    run = next(run, report(1, 'failure', '3 of 390 tests FAILED'))
    expect(commitStatusOf(run, ref(1), TEMPLATE, RUN_URL)).toEqual({
      state: 'failure',
      context: 'hookchain/release/1',
      description: '3 of 390 tests FAILED',
      target_url: 'https://github.com/acme/tests/actions/runs/1',
    })
    expect(commitStatusOf(run, null, TEMPLATE, RUN_URL)).toMatchObject({
      state: 'failure',
      description: 'Chain release failed at step 1: 3 of 390 tests FAILED',
    })
  })

  it('end as error when the run is cancelled, which commit statuses cannot say', () => {
    const run = next(started(), { type: 'cancel', by: 'alice' })
    expect(commitStatusOf(run, ref(1), TEMPLATE, RUN_URL)).toMatchObject({
      state: 'error',
      description: 'Cancelled by alice',
    })
    expect(commitStatusOf(run, null, TEMPLATE, RUN_URL)).toMatchObject({
      state: 'error',
      description: 'Chain release was cancelled',
    })
  })

  it(`cut a description to GitHub's ${STATUS_DESCRIPTION_MAX} characters, with an ellipsis`, () => {
    const long = 'é'.repeat(200)
    const cut = statusDescription(long)
    expect([...cut]).toHaveLength(STATUS_DESCRIPTION_MAX)
    expect(cut.endsWith('…')).toBe(true)
    expect(statusDescription('two\nlines')).toBe('two lines')
  })
})
