import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import type { EventOutcome, EventRecord } from '../model/event.js'
import type { Run } from '../model/run.js'
import { isSignatureTag } from '../model/tag-patterns.js'
import type { Normalised, PushEvent } from '../sources/types.js'
import type { NewJob } from '../store/store.js'
import { type SilentRegistry, startRuns } from './effects.js'
import { newRuns } from './match.js'

export interface Delivery {
  source: string
  normalised: Normalised
  contentType: string | null
  payload: string
  receivedAt: Date
}

/** Everything one delivery leads to, ready to be stored in one transaction. */
export interface Intake {
  event: EventRecord
  runs: Run[]
  jobs: NewJob[]
}

/**
 * Decides what a delivery starts: a run for each chain that matches each push, at most
 * `runsPerDelivery` of them (a registry may name many tags in one delivery). Pure.
 */
export function takeIn(
  delivery: Delivery,
  chains: readonly Chain[],
  runsPerDelivery = Number.POSITIVE_INFINITY,
  silent?: SilentRegistry,
): Intake {
  const { normalised, receivedAt } = delivery
  const eventId = newId(receivedAt.getTime())
  const matched = normalised.pushes.flatMap((push) => newRuns(eventId, push, chains, receivedAt))
  const { runs, jobs } = startRuns(matched.slice(0, runsPerDelivery), receivedAt, chains, silent)
  const { outcome, reason } = outcomeOf(normalised, runs, matched, runsPerDelivery)
  return {
    event: {
      id: eventId,
      source: delivery.source,
      deliveryId: normalised.deliveryId,
      receivedAt: receivedAt.toISOString(),
      outcome,
      reason,
      contentType: delivery.contentType,
      payload: delivery.payload,
      pushes: normalised.pushes,
      runIds: runs.map((r) => r.id),
      duplicates: 0,
      lastDuplicateAt: null,
    },
    runs,
    jobs,
  }
}

function outcomeOf(
  normalised: Normalised,
  started: readonly Run[],
  matched: readonly Run[],
  runsPerDelivery: number,
): { outcome: EventOutcome; reason: string | null } {
  const { pushes } = normalised
  if (started.length > 0) {
    const reason =
      matched.length > started.length
        ? `${started.length} of the ${matched.length} runs it matched were started: limits.runs_per_delivery is ${runsPerDelivery}; the rest (${cutRuns(matched.slice(started.length))}) were cut`
        : null
    return { outcome: 'started', reason }
  }
  if (pushes.length === 0) {
    return { outcome: 'ignored', reason: normalised.ignored ?? 'the delivery holds no image push' }
  }
  if (pushes.every((push) => isSignatureTag(push.tag))) {
    const verb = pushes.length > 1 ? 'carry' : 'carries'
    return {
      outcome: 'ignored',
      reason: `${references(pushes)} only ${verb} signatures, attestations or SBOMs: a chain starts on such tags only when its match.tags names them, like "sha256-*.sig"`,
    }
  }
  return { outcome: 'unmatched', reason: `no chain matches ${references(pushes)}` }
}

function references(pushes: readonly PushEvent[]): string {
  return pushes.map((p) => `${p.registry}/${p.repository}:${p.tag ?? p.digest}`).join(', ')
}

/** `release for docker.io/acme/app:v1, …`, for the record of what a limit cut. */
function cutRuns(cut: readonly Run[]): string {
  const shown = cut.slice(0, 10).map((run) => `${run.chain} for ${run.image.reference}`)
  return cut.length > shown.length
    ? `${shown.join(', ')} and ${cut.length - shown.length} more`
    : shown.join(', ')
}

/** The runs a stored event starts when it is delivered again, with today's chains. Pure. */
export function takeInAgain(
  event: EventRecord,
  chains: readonly Chain[],
  now: Date,
  silent?: SilentRegistry,
): { runs: Run[]; jobs: NewJob[] } {
  return startRuns(
    event.pushes.flatMap((push) => newRuns(event.id, push, chains, now)),
    now,
    chains,
    silent,
  )
}
