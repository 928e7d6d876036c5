import type { Callback } from '../../shared/callback.js'
import { formatDuration } from '../config/duration.js'
import {
  type Decision,
  type Image,
  isFinal,
  type Run,
  type RunNote,
  type RunState,
  type SourceCommit,
  type Step,
  type StepRef,
  stepAt,
  stepName,
} from '../model/run.js'

/** What happened to a run, as the chain engine sees it. */
export type RunInput =
  | { type: 'delivered'; ref: StepRef; generation: number }
  | { type: 'delivery-failed'; ref: StepRef; generation: number; error: string }
  | { type: 'callback'; ref: StepRef; generation: number; callback: Callback }
  /** `lastError`: why the outbox's last try to dispatch the step failed, if it did. */
  | { type: 'timeout'; ref: StepRef; lastError?: string | null }
  | { type: 'decide'; ref: StepRef; approved: boolean; by: string; comment: string | null }
  | { type: 'retry' }
  | { type: 'cancel'; by: string }
  /** The image was read before the first step: its digest pinned, its source commit found. */
  | { type: 'prepared'; image: Image; sourceCommit: SourceCommit | null; notes: RunNote[] }

/** What a notification target hears about. */
export type RunEvent = 'success' | 'failure' | 'error' | 'cancelled' | 'approval'

/** What the outside world must do after a transition. */
export type Effect =
  | { type: 'send'; ref: StepRef; generation: number }
  /** Read the image (its digest, its source commit) before the first step begins. */
  | { type: 'prepare' }
  | { type: 'notify-registry' }
  | { type: 'notify'; event: RunEvent }

export type Refusal =
  | 'step-ended'
  | 'stale'
  | 'not-due'
  | 'not-retryable'
  | 'not-cancellable'
  | 'not-an-approval'

export type Transition =
  | {
      ok: true
      run: Run
      effects: Effect[]
      /** A retry: the run before it is kept as its earlier attempt. */
      newAttempt?: true
    }
  | { ok: false; reason: Refusal; message: string }

/**
 * A new run: its first step begins, or, with `prepare`, waits until the image has been read
 * (the `prepared` input).
 */
export function startRun(
  run: Run,
  now: Date,
  { prepare = false }: { prepare?: boolean } = {},
): { run: Run; effects: Effect[] } {
  const next = copy(run)
  const effects: Effect[] = []
  if (prepare) effects.push({ type: 'prepare' })
  else begin(next, 'main', 1, now, effects)
  return { run: { ...next, state: 'running', finishedAt: null }, effects }
}

/** The chain's state machine: pure, so every rule is tested without a database or a network. */
export function advance(run: Run, input: RunInput, now: Date): Transition {
  const next = copy(run)
  const effects: Effect[] = []
  const at = now.toISOString()

  if (input.type === 'retry') return retry(next, now, effects)
  if (input.type === 'cancel') return cancel(next, input.by, at, effects)
  if (input.type === 'prepared') return prepared(next, input, now, effects)

  const step = stepAt(next, input.ref)
  const name = stepName(input.ref)
  if (!step) return refuse('stale', `run ${run.id} has no step ${name}`)
  if ('generation' in input && input.generation !== step.generation) {
    return refuse(
      'stale',
      `step ${name} of run ${run.id} was restarted; this report is for an earlier attempt`,
    )
  }
  if (isFinal(step.state)) {
    return refuse(
      'step-ended',
      `step ${name} of run ${run.id} already ended as ${step.state} at ${step.finishedAt}`,
    )
  }
  if (step.state === 'queued')
    return refuse('stale', `step ${name} of run ${run.id} has not started`)

  switch (input.type) {
    case 'delivered':
      if (step.state !== 'dispatching')
        return refuse('stale', `step ${name} was already dispatched`)
      step.state = 'running'
      step.dispatchedAt = at
      return done(next, effects)

    case 'delivery-failed':
      if (step.state !== 'dispatching')
        return refuse('stale', `step ${name} was already dispatched`)
      end(step, 'error', { description: input.error }, at)
      settle(next, input.ref, now, effects)
      return done(next, effects)

    case 'timeout': {
      if (!step.deadline || step.deadline > at)
        return refuse('not-due', `step ${name} is not due yet`)
      const waited = formatDuration(step.timeoutMs ?? run.stepTimeoutMs)
      const why = input.lastError ?? step.description
      const description =
        step.kind === 'approval'
          ? `No decision within ${waited}`
          : step.state === 'dispatching'
            ? `Not dispatched within ${waited}${why ? `: ${why}` : ''}`
            : `No callback within ${waited}`
      end(step, 'error', { description }, at)
      settle(next, input.ref, now, effects)
      return done(next, effects)
    }

    case 'decide': {
      if (step.kind !== 'approval')
        return refuse('not-an-approval', `step ${name} of run ${run.id} is not an approval`)
      const decision: Decision = {
        approved: input.approved,
        by: input.by,
        at,
        comment: input.comment,
      }
      step.decision = decision
      const verb = input.approved ? 'Approved' : 'Rejected'
      const said = input.comment ? `: ${input.comment}` : ''
      end(
        step,
        input.approved ? 'success' : 'failure',
        { description: `${verb} by ${input.by}${said}` },
        at,
      )
      settle(next, input.ref, now, effects)
      return done(next, effects)
    }

    case 'callback': {
      if (step.kind === 'approval' || step.kind === 'parallel')
        return refuse('stale', `step ${name} of run ${run.id} takes no callbacks`)
      const { callback } = input
      const report = {
        description: callback.description ?? null,
        context: callback.context ?? null,
        targetUrl: callback.target_url ?? null,
      }
      if (step.state === 'dispatching') step.dispatchedAt = at
      if (callback.state === 'pending') {
        Object.assign(step, keepKnown(step, report), { state: 'pending' })
        return done(next, effects)
      }
      end(step, callback.state, report, at)
      settle(next, input.ref, now, effects)
      return done(next, effects)
    }
  }
}

/** Starts the step at `index` of a phase: sent, opened as a group, or waiting for a decision. */
function begin(run: Run, phase: StepRef['phase'], index: number, now: Date, effects: Effect[]) {
  const step = (phase === 'main' ? run.steps : run.onFailure)[index - 1]
  if (!step) return
  const at = now.toISOString()
  step.startedAt = at
  if (step.kind === 'parallel') {
    step.state = 'running'
    step.branches.forEach((branch, b) => {
      send(run, branch, { phase, index, branch: b + 1 }, now, effects)
    })
    return
  }
  if (step.kind === 'approval') {
    step.state = 'waiting'
    step.deadline = deadlineOf(run, step, now)
    effects.push({ type: 'notify', event: 'approval' })
    return
  }
  send(run, step, { phase, index, branch: 0 }, now, effects)
}

function send(run: Run, step: Step, ref: StepRef, now: Date, effects: Effect[]) {
  step.state = 'dispatching'
  step.startedAt = now.toISOString()
  step.deadline = deadlineOf(run, step, now)
  effects.push({ type: 'send', ref, generation: step.generation })
}

function deadlineOf(run: Run, step: Step, now: Date): string {
  return new Date(now.getTime() + (step.timeoutMs ?? run.stepTimeoutMs)).toISOString()
}

/** What follows the end of the step at `ref`: its group's outcome, the next step, or the run's end. */
function settle(run: Run, ref: StepRef, now: Date, effects: Effect[]) {
  const at = now.toISOString()
  const ended: Step | undefined = stepAt(run, { ...ref, branch: 0 })
  if (ref.branch && ended) {
    const outcome = groupOutcome(ended)
    if (outcome === null) return
    for (const branch of ended.branches) {
      if (!isFinal(branch.state)) {
        end(branch, 'cancelled', { description: cancelledBranch(ended, outcome) }, at)
      }
    }
    end(ended, outcome, { description: groupDescription(ended, outcome) }, at)
  }
  if (!ended || !isFinal(ended.state)) return
  const steps = ref.phase === 'main' ? run.steps : run.onFailure
  const succeeded = ended.state === 'success'
  if (succeeded && ref.index < steps.length) {
    begin(run, ref.phase, ref.index + 1, now, effects)
    return
  }
  if (ref.phase === 'on_failure') {
    skipOnFailure(run)
    return
  }
  finish(run, succeeded ? 'success' : (ended.state as 'failure' | 'error'), now, effects)
}

/** A group ends when its rule is decided: null while it is not. */
function groupOutcome(group: Step): 'success' | 'failure' | 'error' | null {
  const branches = group.branches
  if (group.require === 'any') {
    if (branches.some((b) => b.state === 'success')) return 'success'
    if (!branches.every((b) => isFinal(b.state))) return null
    return branches.some((b) => b.state === 'failure') ? 'failure' : 'error'
  }
  const stopped = branches.find((b) => b.state === 'failure' || b.state === 'error')
  if (stopped) return stopped.state as 'failure' | 'error'
  return branches.every((b) => b.state === 'success') ? 'success' : null
}

function groupDescription(group: Step, outcome: 'success' | 'failure' | 'error'): string {
  const done = group.branches.filter((b) => b.state === 'success').length
  const of = group.branches.length
  if (outcome === 'success')
    return group.require === 'any'
      ? `Branch ${firstIndex(group, 'success')} of ${of} succeeded`
      : `All ${of} branches succeeded`
  if (group.require === 'any') return `None of the ${of} branches succeeded`
  const stopped = group.branches.findIndex((b) => b.state === outcome) + 1
  return `Branch ${stopped} of ${of} ended as ${outcome} (${done} succeeded)`
}

function firstIndex(group: Step, state: Step['state']): number {
  return group.branches.findIndex((b) => b.state === state) + 1
}

function cancelledBranch(group: Step, outcome: 'success' | 'failure' | 'error'): string {
  return outcome === 'success'
    ? `Not needed: branch ${firstIndex(group, 'success')} already succeeded`
    : `Stopped: the group ended as ${outcome}`
}

/** The run ends: steps it never reached are skipped, and those who asked are told. */
function finish(run: Run, state: Exclude<RunState, 'running'>, now: Date, effects: Effect[]) {
  run.state = state
  run.finishedAt = now.toISOString()
  for (const step of run.steps) {
    if (step.state === 'queued') step.state = 'skipped'
    for (const branch of step.branches) if (branch.state === 'queued') branch.state = 'skipped'
  }
  if (state !== 'cancelled' && run.push.callbackUrl) effects.push({ type: 'notify-registry' })
  effects.push({ type: 'notify', event: state })
  if ((state === 'failure' || state === 'error') && run.onFailure.length > 0) {
    begin(run, 'on_failure', 1, now, effects)
  } else skipOnFailure(run)
}

/** A run that did not fail never reaches its on_failure steps. */
function skipOnFailure(run: Run) {
  for (const step of run.onFailure) if (step.state === 'queued') step.state = 'skipped'
}

/** The image is read: the first step begins (unless the run was cancelled meanwhile). */
function prepared(
  run: Run,
  input: Extract<RunInput, { type: 'prepared' }>,
  now: Date,
  effects: Effect[],
): Transition {
  if (run.state !== 'running' || run.steps[0]?.state !== 'queued') {
    return refuse('stale', `run ${run.id} is ${run.state} and already under way`)
  }
  run.image = input.image
  run.sourceCommit = input.sourceCommit ?? run.sourceCommit
  run.notes = [...run.notes, ...input.notes]
  begin(run, 'main', 1, now, effects)
  return done(run, effects)
}

function cancel(run: Run, by: string, at: string, effects: Effect[]): Transition {
  if (run.state !== 'running') {
    return refuse(
      'not-cancellable',
      `run ${run.id} is ${run.state}; only a running run can be cancelled`,
    )
  }
  const stop = (step: Step) => {
    if (step.state === 'queued') step.state = 'skipped'
    else if (!isFinal(step.state)) end(step, 'cancelled', { description: `Cancelled by ${by}` }, at)
  }
  for (const step of run.steps) {
    for (const branch of step.branches) stop(branch)
    stop(step)
  }
  skipOnFailure(run)
  run.state = 'cancelled'
  run.finishedAt = at
  effects.push({ type: 'notify', event: 'cancelled' })
  return done(run, effects)
}

function retry(run: Run, now: Date, effects: Effect[]): Transition {
  if (run.state === 'running' || run.state === 'success') {
    return refuse(
      'not-retryable',
      `run ${run.id} is ${run.state}; only a run that failed, errored or was cancelled can be retried`,
    )
  }
  const from = run.steps.findIndex((s) => s.state !== 'success')
  for (const step of run.steps.slice(from)) reset(step)
  for (const step of run.onFailure) reset(step)
  run.state = 'running'
  run.finishedAt = null
  run.attempt += 1
  begin(run, 'main', from + 1, now, effects)
  return { ok: true, run, effects, newAttempt: true }
}

function reset(step: Step): void {
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
    decision: null,
  } satisfies Partial<Step>)
  for (const branch of step.branches) reset(branch)
}

/** A final report without a target_url keeps the link its pending report gave. */
function keepKnown(
  step: Step,
  report: Partial<Pick<Step, 'description' | 'context' | 'targetUrl'>>,
) {
  return {
    description: report.description ?? step.description,
    context: report.context ?? step.context,
    targetUrl: report.targetUrl ?? step.targetUrl,
  }
}

function end(
  step: Step,
  state: 'success' | 'failure' | 'error' | 'cancelled',
  report: Partial<Pick<Step, 'description' | 'context' | 'targetUrl'>>,
  at: string,
): void {
  Object.assign(step, keepKnown(step, report), { state, finishedAt: at, deadline: null })
}

function done(run: Run, effects: Effect[]): Transition {
  return { ok: true, run, effects }
}

function copy(run: Run): Run {
  const steps = (list: Step[]): Step[] =>
    list.map((s) => ({
      ...s,
      branches: steps(s.branches),
      decision: s.decision && { ...s.decision },
    }))
  return {
    ...run,
    steps: steps(run.steps),
    onFailure: steps(run.onFailure),
    notes: [...run.notes],
  }
}

function refuse(reason: Refusal, message: string): Transition {
  return { ok: false, reason, message }
}
