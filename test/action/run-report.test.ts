import { describe, expect, it } from 'vitest'
import type { ChainRun, RunStep } from '../../src/action/start/chain-run.js'
import {
  chainEnded,
  currentStep,
  formatMinutes,
  StepPrinter,
  stoppingStep,
  summaryOf,
  waitRanOut,
} from '../../src/action/start/run-report.js'

const RUN_URL = 'https://relay.example.com/runs/run_1'

function step(index: number, target: string, state: string, more: Partial<RunStep> = {}): RunStep {
  return {
    index,
    kind: 'dispatch',
    target,
    state,
    description: null,
    target_url: null,
    branches: [],
    ...more,
  }
}

function run(state: string, steps: RunStep[]): ChainRun {
  return { id: 'run_1', chain: 'release', state, image: 'ghcr.io/acme/app:v1', steps }
}

const tests = (state: string, more: Partial<RunStep> = {}) => step(1, 'acme/tests', state, more)
const parallel = (state: string, branches: RunStep[]) =>
  step(2, '', state, { kind: 'parallel', branches })

describe('StepPrinter', () => {
  it('prints each step once, when it ends, with its description and link', () => {
    const printer = new StepPrinter()
    const deploy = step(2, 'acme/deploy', 'queued')
    expect(printer.linesFor(run('running', [tests('running'), deploy]))).toEqual([])
    const passed = tests('success', {
      description: '387 tests PASSED',
      target_url: 'https://github.com/acme/tests/actions/runs/1',
    })
    expect(printer.linesFor(run('running', [passed, step(2, 'acme/deploy', 'running')]))).toEqual([
      'Step 1/2 acme/tests: success – 387 tests PASSED – https://github.com/acme/tests/actions/runs/1',
    ])
    expect(printer.linesFor(run('running', [passed, step(2, 'acme/deploy', 'pending')]))).toEqual(
      [],
    )
    expect(printer.linesFor(run('success', [passed, step(2, 'acme/deploy', 'success')]))).toEqual([
      'Step 2/2 acme/deploy: success',
    ])
  })

  it('prints a step that waits for an approval, and again when it ends', () => {
    const printer = new StepPrinter()
    const approval = (state: string) =>
      step(1, 'ops', state, { kind: 'approval', description: 'Waiting for an approval' })
    expect(printer.linesFor(run('running', [approval('waiting')]))).toEqual([
      'Step 1/1 ops: waiting – Waiting for an approval',
    ])
    expect(printer.linesFor(run('running', [approval('waiting')]))).toEqual([])
    expect(printer.linesFor(run('success', [approval('success')]))).toEqual([
      'Step 1/1 ops: success – Waiting for an approval',
    ])
  })

  it('prints the branches of a parallel step under it, as they end', () => {
    const printer = new StepPrinter()
    const scan = (state: string) => step(1, 'acme/scan', state)
    const e2e = (state: string) => step(2, 'acme/e2e', state, { description: '12 tests PASSED' })
    expect(
      printer.linesFor(
        run('running', [tests('success'), parallel('running', [scan('success'), e2e('running')])]),
      ),
    ).toEqual([
      'Step 1/2 acme/tests: success',
      'Step 2/2 parallel, 2 branches:',
      '  Step 2.1 acme/scan: success',
    ])
    expect(
      printer.linesFor(
        run('success', [tests('success'), parallel('success', [scan('success'), e2e('success')])]),
      ),
    ).toEqual(['  Step 2.2 acme/e2e: success – 12 tests PASSED', 'Step 2/2 parallel: success'])
  })
})

describe('stoppingStep and currentStep', () => {
  it('name the branch that failed rather than its parallel step', () => {
    const failed = run('failure', [
      tests('success'),
      parallel('failure', [step(1, 'acme/scan', 'success'), step(2, 'acme/e2e', 'failure')]),
    ])
    expect(stoppingStep(failed)?.label).toBe('2.2')
    expect(stoppingStep(run('success', [tests('success')]))).toBeNull()
  })

  it('name the step under way rather than one still queued', () => {
    const running = run('running', [
      tests('success'),
      parallel('running', [step(1, 'acme/scan', 'queued'), step(2, 'acme/e2e', 'pending')]),
    ])
    expect(currentStep(running)?.label).toBe('2.2')
    expect(currentStep(run('running', [tests('queued')]))?.label).toBe('1/1')
  })
})

describe('the sentences the step ends with', () => {
  it('passes when the chain succeeded', () => {
    expect(chainEnded(run('success', [tests('success')]), RUN_URL)).toEqual({
      ok: true,
      message: `Chain "release" succeeded: ${RUN_URL}`,
    })
  })

  it.each([
    [
      'failure',
      'failure',
      'Chain "release" failed at step 1/1 acme/tests: failure – 3 of 390 tests FAILED',
    ],
    [
      'error',
      'error',
      'Chain "release" ended in error at step 1/1 acme/tests: error – 3 of 390 tests FAILED',
    ],
    [
      'cancelled',
      'cancelled',
      'Chain "release" was cancelled at step 1/1 acme/tests: cancelled – 3 of 390 tests FAILED',
    ],
  ])('fails when the chain ended in %s, naming the step', (runState, stepState, message) => {
    const ended = run(runState, [tests(stepState, { description: '3 of 390 tests FAILED' })])
    expect(chainEnded(ended, RUN_URL)).toEqual({ ok: false, message: `${message}. See ${RUN_URL}` })
  })

  it('says where the chain stands when the wait ran out, and why the relay did not answer', () => {
    const stuck = run('running', [tests('pending', { description: 'Tests running' })])
    expect(waitRanOut(stuck, RUN_URL, 90_000, null)).toBe(
      `Chain "release" did not end within 1.5 minutes: it is still running at step 1/1 acme/tests: pending – Tests running. See ${RUN_URL}`,
    )
    expect(waitRanOut(stuck, RUN_URL, 60_000, 'connect ECONNREFUSED 127.0.0.1:8080')).toMatch(
      /within 1 minute: .* The relay's last answer: connect ECONNREFUSED 127\.0\.0\.1:8080\.$/,
    )
  })

  it('writes minutes as a person reads them', () => {
    expect([60_000, 3_600_000, 1_800, 90_000].map(formatMinutes)).toEqual([
      '1 minute',
      '60 minutes',
      '0.03 minutes',
      '1.5 minutes',
    ])
  })
})

describe('summaryOf', () => {
  it('lists every step and branch with its result and link, escaped', () => {
    const summary = summaryOf(
      run('failure', [
        tests('success', { description: '<b>387</b> tests', target_url: 'https://ci/1?a=1&b=2' }),
        parallel('failure', [step(1, 'acme/scan', 'failure')]),
      ]),
      RUN_URL,
    )
    expect(summary).toContain('<h3>hookchain chain release: <code>failure</code></h3>')
    expect(summary).toContain(
      `<p>Run <a href="${RUN_URL}">${RUN_URL}</a> for <code>ghcr.io/acme/app:v1</code></p>`,
    )
    const rows = summary.match(/<tr><td>.*?<\/tr>/g)
    expect(rows).toEqual([
      '<tr><td>1/2</td><td>acme/tests</td><td><code>success</code></td><td>&lt;b&gt;387&lt;/b&gt; tests</td><td><a href="https://ci/1?a=1&amp;b=2">https://ci/1?a=1&amp;b=2</a></td></tr>',
      '<tr><td>2/2</td><td>parallel</td><td><code>failure</code></td><td></td><td></td></tr>',
      '<tr><td>2.1</td><td>acme/scan</td><td><code>failure</code></td><td></td><td></td></tr>',
    ])
  })
})
