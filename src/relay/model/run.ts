import { redactUrl } from '../../shared/redaction.js'
import type { PushEvent } from '../sources/types.js'

export type RunState = 'running' | 'success' | 'failure' | 'error'
export const RUN_STATES: readonly RunState[] = ['running', 'success', 'failure', 'error']

/**
 * `queued`: not reached yet. `dispatching`: its dispatch is in the outbox. `running`: dispatched,
 * no report yet. `pending`: the step reported progress. The rest are final.
 */
export type StepState =
  | 'queued'
  | 'dispatching'
  | 'running'
  | 'pending'
  | 'success'
  | 'failure'
  | 'error'

export type StepKind = 'dispatch' | 'webhook'

/** The image as `client_payload.image` names it. */
export interface Image {
  registry: string
  repository: string
  tag: string | null
  digest: string | null
  reference: string
}

export interface Step {
  /** 1-based, as in `client_payload.step`. */
  index: number
  kind: StepKind
  /** `owner/repo` for a dispatch, the URL for a webhook. */
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
  /** When the step ends as `error` unless a final callback arrives first. */
  deadline: string | null
  /** Refused callbacks past those the history keeps (a client that keeps calling an ended step). */
  callbacksDropped: number
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
  steps: Step[]
}

/** The target as people may see it: a webhook URL with any credentials in it hidden. */
export function shownTarget(step: Pick<Step, 'kind' | 'target'>): string {
  return step.kind === 'webhook' ? redactUrl(step.target) : step.target
}

export const FINAL_STEP_STATES: readonly StepState[] = ['success', 'failure', 'error']

export function isFinal(state: StepState | RunState): boolean {
  return state === 'success' || state === 'failure' || state === 'error'
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
