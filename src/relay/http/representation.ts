import type { CallbackPolicy } from '../deliverers/outbound-address.js'
import { registryCallbackStatus } from '../deliverers/registry-callback-status.js'
import type { Attempt } from '../model/attempt.js'
import type { CallbackRecord } from '../model/callback.js'
import type { EventRecord } from '../model/event.js'
import {
  isFinal,
  type Phase,
  type Run,
  type RunAttempt,
  type Step,
  type StepRef,
  shownTarget,
  stepName,
} from '../model/run.js'

/**
 * The run's version as an entity tag: it changes with every change of the run's or a step's
 * state (what a long poll waits for). Weak, since the history of requests may grow under it.
 */
export function runEtag(run: Pick<Run, 'version'>): string {
  return `W/"${run.version}"`
}

/** Whether an If-None-Match header names this tag (weak comparison, as RFC 9110 has it). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const bare = etag.replace(/^W\//, '')
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag.replace(/^W\//, '') === bare)
}

/** What the history holds of a run besides the run itself. */
export interface RunHistory {
  attempts?: readonly Attempt[]
  callbacks?: readonly CallbackRecord[]
  earlier?: readonly RunAttempt[]
  /** The config's registry_callbacks, to tell a callback that will never be sent. */
  registryPolicy?: CallbackPolicy
}

/** The wire shapes of the history API (snake_case, as DESIGN.md and openapi.yaml fix them). */
export function runJson(run: Run, history: RunHistory = {}) {
  const { attempts = [], callbacks = [], earlier = [], registryPolicy } = history
  const registry = registryCallbackStatus(run, attempts, registryPolicy)
  // Requests and callbacks of earlier attempts are shown with their attempt, not the current one.
  const current = { attempt: run.attempt, attempts, callbacks }
  return {
    id: run.id,
    event_id: run.eventId,
    chain: run.chain,
    state: run.state,
    source: run.source,
    image: run.image,
    pusher: run.push.pusher,
    pushed_at: run.push.pushedAt,
    created_at: run.createdAt,
    finished_at: run.finishedAt,
    attempt: run.attempt,
    steps: stepsJson(run.steps, 'main', current),
    on_failure: run.onFailure.length
      ? {
          state: phaseState(run.onFailure),
          steps: stepsJson(run.onFailure, 'on_failure', current),
        }
      : null,
    earlier_attempts: earlier.map((a) => ({
      attempt: a.attempt,
      state: a.state,
      started_at: a.startedAt,
      finished_at: a.finishedAt,
      steps: stepsJson(a.steps, 'main', { attempt: a.attempt, attempts, callbacks }),
      on_failure: a.onFailure.length
        ? {
            state: phaseState(a.onFailure),
            steps: stepsJson(a.onFailure, 'on_failure', {
              attempt: a.attempt,
              attempts,
              callbacks,
            }),
          }
        : null,
    })),
    registry_callback: registry && {
      state: registry.state,
      detail: registry.detail,
      attempts: attempts.filter((a) => a.kind === 'registry-callback').map(attemptJson),
    },
    notifications: attempts.filter((a) => a.kind === 'notification').map(attemptJson),
    origin: originJson(run.origin),
    source_commit: run.sourceCommit && {
      repository: run.sourceCommit.repository,
      sha: run.sourceCommit.sha,
      from: run.sourceCommit.from,
    },
    image_reads: attempts.filter((a) => a.kind === 'image-read').map(attemptJson),
    commit_statuses: attempts.filter((a) => a.kind === 'commit-status').map(attemptJson),
    notes: run.notes.map((note) => ({ at: note.at, text: note.text })),
  }
}

function originJson(origin: Run['origin']) {
  if (origin === null) return null
  if (origin.kind === 'admin') return { kind: origin.kind, by: origin.by }
  return {
    kind: origin.kind,
    repository: origin.repository,
    sha: origin.sha,
    url: origin.url,
    workflow_ref: origin.workflowRef,
    actor: origin.actor,
  }
}

/** The requests a step made itself: its dispatches or webhook deliveries. */
const STEP_ATTEMPT_KINDS: readonly Attempt['kind'][] = ['dispatch', 'webhook']

/**
 * How a run's on_failure steps went: not yet, never (the run did not fail), under way, or how the
 * last one that ran ended.
 */
function phaseState(
  steps: readonly Step[],
): 'queued' | 'skipped' | 'running' | 'success' | 'failure' | 'error' | 'cancelled' {
  if (steps.every((s) => s.state === 'skipped')) return 'skipped'
  if (steps.every((s) => s.state === 'queued' || s.state === 'skipped')) return 'queued'
  if (steps.some((s) => !isFinal(s.state) && s.state !== 'queued')) return 'running'
  const last = [...steps].reverse().find((s) => s.state !== 'skipped' && s.state !== 'queued')
  return last?.state === 'failure' || last?.state === 'error' || last?.state === 'cancelled'
    ? last.state
    : 'success'
}

interface Records {
  attempt: number
  attempts: readonly Attempt[]
  callbacks: readonly CallbackRecord[]
}

function stepsJson(steps: readonly Step[], phase: Phase, records: Records) {
  return steps.map((step) => stepJson(step, { phase, index: step.index, branch: 0 }, records))
}

/** `records` holds the run's requests and callbacks; the step's own are picked out of them. */
export function stepJson(step: Step, ref: StepRef, records?: Records): StepJson {
  const mine = <
    T extends { step: number | null; phase: Phase; branch: number; runAttempt: number },
  >(
    list: readonly T[],
  ) =>
    list.filter(
      (x) =>
        x.step === ref.index &&
        x.phase === ref.phase &&
        x.branch === ref.branch &&
        x.runAttempt === records?.attempt,
    )
  return {
    index: step.index,
    name: stepName(ref),
    kind: step.kind,
    target: shownTarget(step),
    event_type: step.eventType,
    state: step.state,
    description: step.description,
    context: step.context,
    target_url: step.targetUrl,
    generation: step.generation,
    started_at: step.startedAt,
    dispatched_at: step.dispatchedAt,
    finished_at: step.finishedAt,
    deadline: step.deadline,
    attempts: records
      ? mine(records.attempts)
          .filter((a) => STEP_ATTEMPT_KINDS.includes(a.kind))
          .map(attemptJson)
      : [],
    callbacks_dropped: step.callbacksDropped,
    callbacks: (records ? mine(records.callbacks) : []).map((c) => ({
      received_at: c.receivedAt,
      generation: c.generation,
      state: c.body.state,
      body: c.body,
      outcome: c.outcome,
    })),
    ...(step.kind === 'parallel'
      ? {
          require: step.require,
          branches: step.branches.map((branch) =>
            stepJson(branch, { ...ref, branch: branch.index }, records),
          ),
        }
      : {}),
    ...(step.kind === 'approval'
      ? {
          decision: step.decision && {
            approved: step.decision.approved,
            by: step.decision.by,
            at: step.decision.at,
            comment: step.decision.comment,
          },
        }
      : {}),
  }
}

/** A step as the API sends it; a group's branches are steps too. */
export interface StepJson {
  index: number
  name: string
  kind: Step['kind']
  target: string
  event_type: string | null
  state: Step['state']
  description: string | null
  context: string | null
  target_url: string | null
  generation: number
  started_at: string | null
  dispatched_at: string | null
  finished_at: string | null
  deadline: string | null
  attempts: AttemptJson[]
  callbacks_dropped: number
  callbacks: {
    received_at: string
    generation: number
    state: CallbackRecord['body']['state']
    body: CallbackRecord['body']
    outcome: string
  }[]
  require?: Step['require']
  branches?: StepJson[]
  decision?: Step['decision']
}

function attemptJson(a: Attempt) {
  return {
    started_at: a.startedAt,
    kind: a.kind,
    target: a.target,
    status: a.status,
    error: a.error,
    duration_ms: a.durationMs,
    request: a.request,
  }
}

/** A run as the API sends it: what tests and clients read back from `GET /api/runs/<id>`. */
export type RunJson = ReturnType<typeof runJson>
export type AttemptJson = ReturnType<typeof attemptJson>

export function eventJson(event: EventRecord, withPayload = false) {
  return {
    id: event.id,
    source: event.source,
    delivery_id: event.deliveryId,
    received_at: event.receivedAt,
    outcome: event.outcome,
    reason: event.reason,
    content_type: event.contentType,
    pushes: event.pushes.map((p) => ({
      registry: p.registry,
      repository: p.repository,
      tag: p.tag,
      digest: p.digest,
      pusher: p.pusher,
      pushed_at: p.pushedAt,
      callback_url: p.callbackUrl,
    })),
    runs: event.runIds,
    duplicates: event.duplicates,
    last_duplicate_at: event.lastDuplicateAt,
    ...(withPayload ? { payload: event.payload } : {}),
  }
}
