import { describe, expect, it } from 'vitest'
import type { Chain, NotifyTarget } from '../../../src/relay/config/settings.js'
import { jobsFor } from '../../../src/relay/runs/effects.js'
import { advance, startRun } from '../../../src/relay/runs/engine.js'
import { newRun, ref } from './run-fixture.js'

const t0 = new Date('2026-11-26T21:32:00Z')

const targets: NotifyTarget[] = [
  { kind: 'slack', url: 'https://hooks.slack.com/services/T1/B1/x', on: ['failure'] },
  {
    kind: 'webhook',
    url: 'https://ops.example.com/hook',
    secret: null,
    on: ['approval', 'failure'],
  },
]

/** Two approvals in a row, so that each waits in turn. */
const twoApprovals: Chain = {
  name: 'gated',
  match: { repository: 'acme/app', tags: null },
  stepTimeoutMs: 60_000,
  steps: [
    { kind: 'approval', timeoutMs: 3_600_000 },
    { kind: 'approval', timeoutMs: 3_600_000 },
  ],
  onFailure: [],
  notify: targets,
}

describe('jobsFor', () => {
  it('queues one notify job per target that wants the event, with the attempt and the approval that waits', () => {
    const { run, effects } = startRun(newRun({}, twoApprovals, t0), t0)
    expect(jobsFor(run, effects, t0, targets).map((j) => j.args)).toEqual([
      { event: 'approval', target: 2, attempt: 1, step: 1 },
    ])

    const approved = advance(
      run,
      { type: 'decide', ref: ref(1), approved: true, by: 'alice', comment: null },
      t0,
    )
    if (!approved.ok) throw new Error(approved.message)
    expect(jobsFor(approved.run, approved.effects, t0, targets).map((j) => j.args)).toEqual([
      { event: 'approval', target: 2, attempt: 1, step: 2 },
    ])

    const rejected = advance(
      approved.run,
      { type: 'decide', ref: ref(2), approved: false, by: 'alice', comment: null },
      t0,
    )
    if (!rejected.ok) throw new Error(rejected.message)
    const retried = advance(rejected.run, { type: 'retry' }, t0)
    if (!retried.ok) throw new Error(retried.message)
    expect(jobsFor(rejected.run, rejected.effects, t0, targets).map((j) => j.args)).toEqual([
      { event: 'failure', target: 1, attempt: 1, step: null },
      { event: 'failure', target: 2, attempt: 1, step: null },
    ])
    expect(jobsFor(retried.run, retried.effects, t0, targets).map((j) => j.args)).toEqual([
      { event: 'approval', target: 2, attempt: 2, step: 2 },
    ])
  })
})
