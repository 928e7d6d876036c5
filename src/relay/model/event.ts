import type { PushEvent } from '../sources/types.js'

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
}
