import { redactUrl } from '../../shared/redaction.js'
import { SOURCE_NAMES } from '../sources/index.js'
import type { PushEvent } from '../sources/types.js'

/** The source of test events, sent from the chains page: a push made up to try a chain out. */
export const TEST_SOURCE = 'test'

/** The source of runs a workflow starts through `POST /api/chains/<name>/runs`. */
export const WORKFLOW_SOURCE = 'workflow'

/** Every source an event or a run may come from: the registries, test events and workflows. */
export const EVENT_SOURCES: readonly string[] = [...SOURCE_NAMES, TEST_SOURCE, WORKFLOW_SOURCE]

/** `started`: it started runs. `unmatched`: pushes no chain wants. `ignored`: no push in it, or only tags of signatures no chain names. `rejected`: authenticated, but not a payload of its source. */
export type EventOutcome = 'started' | 'unmatched' | 'ignored' | 'rejected'
export const EVENT_OUTCOMES: readonly EventOutcome[] = [
  'started',
  'unmatched',
  'ignored',
  'rejected',
]

/** One delivery from a registry, as the history keeps it. */
export interface EventRecord {
  id: string
  source: string
  deliveryId: string
  receivedAt: string
  outcome: EventOutcome
  reason: string | null
  contentType: string | null
  /** The body as received (UTF-8). */
  payload: string
  pushes: PushEvent[]
  runIds: string[]
  /** How often the same delivery came again (same source and delivery id); it started nothing more. */
  duplicates: number
  /** When it last came again; null while it came once. */
  lastDuplicateAt: string | null
}

/**
 * The event as the history shows it by default: a registry's callback URL (Docker Hub's carries a
 * token that lets its holder validate the push) hidden in its pushes and in its payload.
 */
export function withCallbackUrlsHidden(event: EventRecord): EventRecord {
  let payload = event.payload
  const pushes = event.pushes.map((push) => {
    if (!push.callbackUrl) return push
    const hidden = redactUrl(push.callbackUrl)
    for (const form of [push.callbackUrl, JSON.stringify(push.callbackUrl).slice(1, -1)]) {
      payload = payload.replaceAll(form, hidden)
    }
    return { ...push, callbackUrl: hidden }
  })
  return { ...event, pushes, payload }
}
