import type { Chain } from '../config/settings.js'
import {
  everyStep,
  type Run,
  type Step,
  type StepRef,
  shownTarget,
  stepAt,
  stepName,
} from '../model/run.js'
import type { NewJob } from '../store/store.js'

/** GitHub keeps at most this much of a commit status's description. */
export const STATUS_DESCRIPTION_MAX = 140

/** A commit status as `POST /repos/{owner}/{repo}/statuses/{sha}` takes it. */
export interface CommitStatus {
  state: 'pending' | 'success' | 'failure' | 'error'
  context: string
  description: string
  target_url: string
}

/** The outbox job that sets the status of a step (`ref`), or of the run (`ref` null). */
export const COMMIT_STATUS_JOB = 'commit-status'

/**
 * The commit-status jobs a change of a run calls for: one for each step whose state changed, and
 * one for the run when its state did; every started step and the run once its source commit is
 * found. Each job writes the status as it stands when the job runs, so a late one never writes
 * an older state. Pure.
 */
export function commitStatusJobs(
  before: Run | null,
  after: Run,
  chain: Chain | undefined,
  now: Date,
): NewJob[] {
  if (!chain?.reportToCommit || after.sourceCommit === null) return []
  const found = before?.sourceCommit == null
  const job = (ref: StepRef | null): NewJob => ({
    kind: COMMIT_STATUS_JOB,
    runId: after.id,
    ref,
    generation: null,
    args: null,
    dueAt: now.getTime(),
  })
  const jobs: NewJob[] = []
  if (found || before?.state !== after.state) jobs.push(job(null))
  for (const { ref, step } of everyStep(after)) {
    if (!hasStarted(step)) continue
    if (found || (before && stepAt(before, ref)?.state) !== step.state) jobs.push(job(ref))
  }
  return jobs
}

/** The status of a step, or of the run when `ref` is null; null for a step that never started. */
export function commitStatusOf(
  run: Run,
  ref: StepRef | null,
  template: string,
  runUrl: string,
): CommitStatus | null {
  if (ref === null) {
    return {
      ...runState(run),
      context: contextOf(template, run.chain, 'run'),
      target_url: runUrl,
    }
  }
  const step = stepAt(run, ref)
  if (!step || !hasStarted(step)) return null
  return {
    ...stepState(step),
    context: contextOf(template, run.chain, stepName(ref)),
    target_url: step.targetUrl ?? runUrl,
  }
}

export function contextOf(template: string, chain: string, step: string): string {
  return template.replaceAll('{chain}', chain).replaceAll('{step}', step)
}

/** A description cut to what GitHub keeps, with an ellipsis rather than mid-word silence. */
export function statusDescription(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = [...flat]
  return chars.length <= STATUS_DESCRIPTION_MAX
    ? flat
    : `${chars.slice(0, STATUS_DESCRIPTION_MAX - 1).join('')}…`
}

function hasStarted(step: Step): boolean {
  return step.state !== 'queued' && step.state !== 'skipped'
}

function stepState(step: Step): Pick<CommitStatus, 'state' | 'description'> {
  const said = step.description
  const where = step.kind === 'dispatch' ? step.target : step.kind
  switch (step.state) {
    case 'success':
      return { state: 'success', description: statusDescription(said ?? 'Succeeded') }
    case 'failure':
      return { state: 'failure', description: statusDescription(said ?? 'Failed') }
    case 'error':
      return { state: 'error', description: statusDescription(said ?? 'Ended in error') }
    case 'cancelled':
      // Commit statuses have no cancelled state.
      return { state: 'error', description: statusDescription(said ?? 'Cancelled') }
    case 'waiting':
      return { state: 'pending', description: 'Waiting for approval' }
    case 'dispatching':
      return {
        state: 'pending',
        description: statusDescription(
          step.kind === 'parallel'
            ? `${step.branches.length} branches running`
            : `Sending to ${where}`,
        ),
      }
    default:
      return {
        state: 'pending',
        description: statusDescription(
          said ??
            (step.kind === 'parallel'
              ? `${step.branches.length} branches running`
              : `Running at ${step.kind === 'webhook' ? 'a webhook' : shownTarget(step)}`),
        ),
      }
  }
}

function runState(run: Run): Pick<CommitStatus, 'state' | 'description'> {
  const chain = `Chain ${run.chain}`
  switch (run.state) {
    case 'running':
      return { state: 'pending', description: statusDescription(`${chain} is running`) }
    case 'success':
      return { state: 'success', description: statusDescription(`${chain} succeeded`) }
    case 'cancelled':
      return { state: 'error', description: statusDescription(`${chain} was cancelled`) }
    default: {
      const stopper = everyStep({ steps: run.steps, onFailure: [] }).find(
        ({ step }) => step.state === 'failure' || step.state === 'error',
      )
      const at = stopper
        ? ` at step ${stepName(stopper.ref)}${stopper.step.description ? `: ${stopper.step.description}` : ''}`
        : ''
      const verb = run.state === 'failure' ? 'failed' : 'ended in error'
      return { state: run.state, description: statusDescription(`${chain} ${verb}${at}`) }
    }
  }
}
