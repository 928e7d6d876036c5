import type { Callback } from '../../shared/callback.js'
import { formatDuration } from '../config/duration.js'
import { isFinal, type Run, type Step } from '../model/run.js'

/** What happened to a run, as the chain engine sees it. */
export type RunInput =
  | { type: 'delivered'; step: number; generation: number }
  | { type: 'delivery-failed'; step: number; generation: number; error: string }
  | { type: 'callback'; step: number; generation: number; callback: Callback }
  /** `lastError`: why the outbox's last try to dispatch the step failed, if it did. */
  | { type: 'timeout'; step: number; lastError?: string | null }
  | { type: 'retry' }

/** What the outside world must do after a transition. */
export type Effect =
  | { type: 'send'; step: number; generation: number }
  | { type: 'notify-registry' }

export type Transition =
  | { ok: true; run: Run; effects: Effect[] }
  | { ok: false; reason: 'step-ended' | 'stale' | 'not-due' | 'not-retryable'; message: string }

/** A new run: its first step goes to the outbox. */
export function startRun(run: Run, now: Date): { run: Run; effects: Effect[] } {
  const steps = run.steps.map((s) => ({ ...s }))
  const effects = beginStep(steps, 0, run.stepTimeoutMs, now)
  return { run: { ...run, steps, state: 'running', finishedAt: null }, effects }
}

/** The chain's state machine: pure, so every rule is tested without a database or a network. */
export function advance(run: Run, input: RunInput, now: Date): Transition {
  const steps = run.steps.map((s) => ({ ...s }))
  const at = now.toISOString()

  if (input.type === 'retry') {
    if (run.state !== 'failure' && run.state !== 'error') {
      return refuse(
        'not-retryable',
        `run ${run.id} is ${run.state}; only a failed or errored run can be retried`,
      )
    }
    const from = steps.findIndex((s) => s.state !== 'success')
    for (const s of steps.slice(from)) resetStep(s)
    const effects = beginStep(steps, from, run.stepTimeoutMs, now)
    return { ok: true, run: { ...run, steps, state: 'running', finishedAt: null }, effects }
  }

  const step = steps[input.step - 1]
  if (!step) return refuse('stale', `run ${run.id} has no step ${input.step}`)
  if ('generation' in input && input.generation !== step.generation) {
    return refuse(
      'stale',
      `step ${input.step} of run ${run.id} was restarted; this report is for an earlier attempt`,
    )
  }
  if (isFinal(step.state)) {
    return refuse(
      'step-ended',
      `step ${step.index} of run ${run.id} already ended as ${step.state} at ${step.finishedAt}`,
    )
  }
  if (step.state === 'queued')
    return refuse('stale', `step ${step.index} of run ${run.id} has not started`)

  switch (input.type) {
    case 'delivered':
      if (step.state !== 'dispatching')
        return refuse('stale', `step ${step.index} was already dispatched`)
      step.state = 'running'
      step.dispatchedAt = at
      return { ok: true, run: { ...run, steps }, effects: [] }

    case 'delivery-failed':
      if (step.state !== 'dispatching')
        return refuse('stale', `step ${step.index} was already dispatched`)
      return endRun(run, steps, step, 'error', { description: input.error }, at)

    case 'timeout': {
      if (!step.deadline || step.deadline > at)
        return refuse('not-due', `step ${step.index} is not due yet`)
      const waited = formatDuration(run.stepTimeoutMs)
      const why = input.lastError ?? step.description
      const description =
        step.state === 'dispatching'
          ? `Not dispatched within ${waited}${why ? `: ${why}` : ''}`
          : `No callback within ${waited}`
      return endRun(run, steps, step, 'error', { description }, at)
    }

    case 'callback': {
      const { callback } = input
      const report = {
        description: callback.description ?? null,
        context: callback.context ?? null,
        targetUrl: callback.target_url ?? null,
      }
      if (step.state === 'dispatching') step.dispatchedAt = at
      if (callback.state === 'pending') {
        Object.assign(step, keepKnown(step, report), { state: 'pending' })
        return { ok: true, run: { ...run, steps }, effects: [] }
      }
      if (callback.state !== 'success') return endRun(run, steps, step, callback.state, report, at)
      Object.assign(step, keepKnown(step, report), {
        state: 'success',
        finishedAt: at,
        deadline: null,
      })
      if (step.index === steps.length) {
        return finish(run, steps, 'success', at)
      }
      const effects = beginStep(steps, step.index, run.stepTimeoutMs, now)
      return { ok: true, run: { ...run, steps }, effects }
    }
  }
}

function beginStep(steps: Step[], position: number, timeoutMs: number, now: Date): Effect[] {
  const step = steps[position]
  if (!step) return []
  step.state = 'dispatching'
  step.startedAt = now.toISOString()
  step.deadline = new Date(now.getTime() + timeoutMs).toISOString()
  return [{ type: 'send', step: step.index, generation: step.generation }]
}

function resetStep(step: Step): void {
  Object.assign(step, {
    state: 'queued',
    description: null,
    context: null,
    targetUrl: null,
    generation: step.generation + 1,
    startedAt: null,
    dispatchedAt: null,
    finishedAt: null,
    deadline: null,
  } satisfies Partial<Step>)
}

/** A final report without a target_url keeps the link its pending report gave. */
function keepKnown(step: Step, report: Pick<Step, 'description' | 'context' | 'targetUrl'>) {
  return {
    description: report.description ?? step.description,
    context: report.context ?? step.context,
    targetUrl: report.targetUrl ?? step.targetUrl,
  }
}

function endRun(
  run: Run,
  steps: Step[],
  step: Step,
  state: 'failure' | 'error',
  report: Partial<Pick<Step, 'description' | 'context' | 'targetUrl'>>,
  at: string,
): Transition {
  Object.assign(
    step,
    keepKnown(step, { description: null, context: null, targetUrl: null, ...report }),
    {
      state,
      finishedAt: at,
      deadline: null,
    },
  )
  return finish(run, steps, state, at)
}

function finish(
  run: Run,
  steps: Step[],
  state: 'success' | 'failure' | 'error',
  at: string,
): Transition {
  const effects: Effect[] = run.push.callbackUrl ? [{ type: 'notify-registry' }] : []
  return { ok: true, run: { ...run, steps, state, finishedAt: at }, effects }
}

function refuse(reason: Extract<Transition, { ok: false }>['reason'], message: string): Transition {
  return { ok: false, reason, message }
}
