import { redactUrl } from '../../shared/redaction.js'
import type { PushEvent } from '../sources/types.js'

export type RunState = 'running' | 'success' | 'failure' | 'error' | 'cancelled'
export const RUN_STATES: readonly RunState[] = [
  'running',
  'success',
  'failure',
  'error',
  'cancelled',
]

/**
 * `queued`: not reached yet. `dispatching`: its dispatch is in the outbox. `running`: dispatched
 * (a group: its branches are under way), no report yet. `pending`: the step reported progress.
 * `waiting`: an approval waits for its decision. The rest are final: `cancelled` for a step the run
 * stopped while it ran (or a branch its group no longer needed), `skipped` for one it never
 * reached.
 */
export type StepState =
  | 'queued'
  | 'dispatching'
  | 'running'
  | 'pending'
  | 'waiting'
  | 'success'
  | 'failure'
  | 'error'
  | 'cancelled'
  | 'skipped'

export const STEP_STATES: readonly StepState[] = [
  'queued',
  'dispatching',
  'running',
  'pending',
  'waiting',
  'success',
  'failure',
  'error',
  'cancelled',
  'skipped',
]

/** A dispatch or a webhook is sent somewhere; a group runs its branches; an approval waits. */
export type StepKind = 'dispatch' | 'webhook' | 'parallel' | 'approval'

/** The steps a run makes its way through, and those it runs once when it fails (`on_failure`). */
export type Phase = 'main' | 'on_failure'

/** Where a step sits in its run: its phase, its 1-based place there, and its branch in a group. */
export interface StepRef {
  phase: Phase
  index: number
  /** 1-based within its parallel group; 0 for a step that is not a branch. */
  branch: number
}

/** The image as `client_payload.image` names it. */
export interface Image {
  registry: string
  repository: string
  tag: string | null
  digest: string | null
  reference: string
}

/** Who decided an approval, and how. */
export interface Decision {
  approved: boolean
  by: string
  at: string
  comment: string | null
}

export interface Step {
  /** 1-based within its phase, as in `client_payload.step`; within its group for a branch. */
  index: number
  kind: StepKind
  /** `owner/repo` for a dispatch, the URL for a webhook; empty for a group or an approval. */
  target: string
  eventType: string | null
  state: StepState
  description: string | null
  context: string | null
  targetUrl: string | null
  /** Bumped when a retry starts the step again: callback tokens of older generations are dead. */
  generation: number
  startedAt: string | null
  dispatchedAt: string | null
  finishedAt: string | null
  /** When the step ends as `error` unless it ends before. */
  deadline: string | null
  /** Its own time limit (an approval's); null for the chain's step timeout. */
  timeoutMs: number | null
  /** Refused callbacks past those the history keeps (a client that keeps calling an ended step). */
  callbacksDropped: number
  /** A parallel group's rule: every branch must succeed (`all`), or one (`any`). */
  require: 'all' | 'any' | null
  /** A parallel group's branches; empty for any other step. */
  branches: Step[]
  /** An approval's decision, once made. */
  decision: Decision | null
}

/** The commit an image was built from: where its commit statuses go. */
export interface SourceCommit {
  /** `owner/name` on the relay's GitHub. */
  repository: string
  sha: string
  /** Where it was found: the start request, GitHub Packages' labels, the image's OCI labels. */
  from: 'start-request' | 'github-packages' | 'oci-labels'
}

/** Who started a run that no registry announced. */
export type RunOrigin =
  | {
      kind: 'workflow'
      /** The workflow run's repository and commit, from its OIDC token. */
      repository: string
      sha: string
      /** `https://github.com/acme/app/actions/runs/42/attempts/1`, when the token names the run. */
      url: string | null
      workflowRef: string | null
      actor: string | null
    }
  | { kind: 'admin'; by: string }

/** Something the relay did or could not do for a run, as its history tells it. */
export interface RunNote {
  at: string
  text: string
}

export interface Run {
  id: string
  eventId: string
  chain: string
  /** The source that announced the push (`dockerhub`, …). */
  source: string
  push: PushEvent
  image: Image
  state: RunState
  stepTimeoutMs: number
  createdAt: string
  finishedAt: string | null
  /** Optimistic concurrency: a transition is saved only over the version it was computed from. */
  version: number
  /** 1, then 2, 3… for each retry; earlier attempts are kept as they ended. */
  attempt: number
  steps: Step[]
  /** Run once, in order, when the run ends as failure or error. */
  onFailure: Step[]
  /** Where commit statuses go; null while unknown (or when nothing names it). */
  sourceCommit: SourceCommit | null
  /** Null for a registry's push; who started it otherwise. */
  origin: RunOrigin | null
  notes: RunNote[]
}

/** An earlier attempt of a run, as it ended. */
export interface RunAttempt {
  attempt: number
  state: RunState
  startedAt: string
  finishedAt: string | null
  steps: Step[]
  onFailure: Step[]
}

/** The target as people may see it: a webhook URL with any credentials in it hidden. */
export function shownTarget(step: Pick<Step, 'kind' | 'target'>): string {
  return step.kind === 'webhook' ? redactUrl(step.target) : step.target
}

const FINAL: ReadonlySet<StepState | RunState> = new Set([
  'success',
  'failure',
  'error',
  'cancelled',
  'skipped',
])

export function isFinal(state: StepState | RunState): boolean {
  return FINAL.has(state)
}

/** `2`, `2.1` (branch 1 of the group at 2), `on_failure.1`: how a step is named to people and workflows. */
export function stepName(ref: StepRef): string {
  const place = ref.branch ? `${ref.index}.${ref.branch}` : String(ref.index)
  return ref.phase === 'on_failure' ? `on_failure.${place}` : place
}

/**
 * `client_payload.step`, and the `step` of log lines: the number of a main step, as it always was;
 * the name (`2.1`, `on_failure.1`) of a branch or a rollback step.
 */
export function stepNumber(ref: StepRef): number | string {
  return ref.branch || ref.phase !== 'main' ? stepName(ref) : ref.index
}

/** The step a reference names, if the run has it. */
export function stepAt(run: Pick<Run, 'steps' | 'onFailure'>, ref: StepRef): Step | undefined {
  const top = (ref.phase === 'main' ? run.steps : run.onFailure)[ref.index - 1]
  return ref.branch ? top?.branches[ref.branch - 1] : top
}

/** Every step of a run with its place, groups and approvals included. */
export function everyStep(run: Pick<Run, 'steps' | 'onFailure'>): { ref: StepRef; step: Step }[] {
  const out: { ref: StepRef; step: Step }[] = []
  for (const [phase, steps] of [
    ['main', run.steps],
    ['on_failure', run.onFailure],
  ] as const) {
    for (const step of steps) {
      out.push({ ref: { phase, index: step.index, branch: 0 }, step })
      for (const branch of step.branches) {
        out.push({ ref: { phase, index: step.index, branch: branch.index }, step: branch })
      }
    }
  }
  return out
}

/** Every step that is sent somewhere (dispatches and webhooks, branches included), with its place. */
export function sentSteps(run: Pick<Run, 'steps' | 'onFailure'>): { ref: StepRef; step: Step }[] {
  const out: { ref: StepRef; step: Step }[] = []
  for (const [phase, steps] of [
    ['main', run.steps],
    ['on_failure', run.onFailure],
  ] as const) {
    steps.forEach((step, i) => {
      if (step.kind === 'parallel') {
        step.branches.forEach((branch, b) => {
          out.push({ ref: { phase, index: i + 1, branch: b + 1 }, step: branch })
        })
      } else if (step.kind !== 'approval') {
        out.push({ ref: { phase, index: i + 1, branch: 0 }, step })
      }
    })
  }
  return out
}

export function imageOf(push: PushEvent): Image {
  const name = `${push.registry}/${push.repository}`
  const reference = push.tag ? `${name}:${push.tag}` : push.digest ? `${name}@${push.digest}` : name
  return {
    registry: push.registry,
    repository: push.repository,
    tag: push.tag,
    digest: push.digest,
    reference,
  }
}
