import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import type { EventOutcome, EventRecord } from '../model/event.js'
import type { Run } from '../model/run.js'
import { isSignatureTag } from '../model/tag-patterns.js'
import type { Normalised, PushEvent } from '../sources/types.js'
import type { NewJob } from '../store/store.js'
import { startRuns } from './effects.js'
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

/** Decides what a delivery starts: a run for each chain that matches each push. Pure. */
export function takeIn(delivery: Delivery, chains: readonly Chain[]): Intake {
  const { normalised, receivedAt } = delivery
  const eventId = newId(receivedAt.getTime())
  const created = normalised.pushes.flatMap((push) => newRuns(eventId, push, chains, receivedAt))
  const { runs, jobs } = startRuns(created, receivedAt)
  const { outcome, reason } = outcomeOf(normalised, runs.length)
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
    },
    runs,
    jobs,
  }
}

function outcomeOf(
  normalised: Normalised,
  started: number,
): { outcome: EventOutcome; reason: string | null } {
  const { pushes } = normalised
  if (started > 0) return { outcome: 'started', reason: null }
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

/** The runs a stored event starts when it is delivered again, with today's chains. Pure. */
export function takeInAgain(
  event: EventRecord,
  chains: readonly Chain[],
  now: Date,
): { runs: Run[]; jobs: NewJob[] } {
  return startRuns(
    event.pushes.flatMap((push) => newRuns(event.id, push, chains, now)),
    now,
  )
}
