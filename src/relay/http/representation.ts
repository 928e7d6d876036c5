import type { Attempt } from '../model/attempt.js'
import type { CallbackRecord } from '../model/callback.js'
import type { EventRecord } from '../model/event.js'
import { type Run, type Step, shownTarget } from '../model/run.js'

/** The wire shapes of the history API (snake_case, as DESIGN.md and openapi.yaml fix them). */
export function runJson(
  run: Run,
  attempts: readonly Attempt[] = [],
  callbacks: readonly CallbackRecord[] = [],
) {
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
    steps: run.steps.map((step) =>
      stepJson(
        step,
        attempts.filter((a) => a.step === step.index),
        callbacks.filter((c) => c.step === step.index),
      ),
    ),
    registry_callback: run.push.callbackUrl
      ? { attempts: attempts.filter((a) => a.kind === 'registry-callback').map(attemptJson) }
      : null,
  }
}

export function stepJson(
  step: Step,
  attempts: readonly Attempt[] = [],
  callbacks: readonly CallbackRecord[] = [],
) {
  return {
    index: step.index,
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
    attempts: attempts.map(attemptJson),
    callbacks_dropped: step.callbacksDropped,
    callbacks: callbacks.map((c) => ({
      received_at: c.receivedAt,
      generation: c.generation,
      state: c.body.state,
      body: c.body,
      outcome: c.outcome,
    })),
  }
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
    ...(withPayload ? { payload: event.payload } : {}),
  }
}
