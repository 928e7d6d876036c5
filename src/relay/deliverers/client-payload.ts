import { EVENT_TYPE_MAX } from '../config/schema.js'
import { type Image, imageOf, type StepRef } from '../model/run.js'
import type { PushEvent } from '../sources/types.js'

/** The image, and for an `on_failure` step the last image this chain succeeded for. */
export type PayloadImage = Image & { previous?: Pick<Image, 'reference' | 'digest'> | null }

/**
 * `client_payload` of each `repository_dispatch`, as DESIGN.md fixes it: 10 top-level keys, the
 * most GitHub takes, so anything new goes inside one of them.
 */
export interface ClientPayload {
  callback_url: string
  run_id: string
  chain: string
  /** 1-based; `"2.1"` for branch 1 of the group at step 2, `"on_failure.1"` for a rollback step. */
  step: number | string
  steps: number
  image: PayloadImage
  pusher: string | null
  /** ISO 8601, UTC. */
  pushed_at: string
  source: string
  /** 1, then 2, 3… on each retry of the run. */
  attempt: number
}

/** Where a step stands in its run: what both payload builders need. */
export interface StepContext {
  /** The relay's per-step callback URL (it carries the step's token). */
  callbackUrl: string
  runId: string
  chain: string
  /** Which step of the chain's config it is: its phase, place and branch. */
  ref: StepRef
  /** `client_payload.step`: `stepNumber(ref)`. */
  step: number | string
  /** How many steps its phase has. */
  steps: number
  attempt: number
  push: PushEvent
  /** The run's image, its digest pinned when the push named only a tag; default: the push's. */
  image?: Image
  /** For an `on_failure` step: the last image the chain succeeded for, or null. */
  previous?: Image | null
}

export const CLIENT_PAYLOAD_MAX_KEYS = 10
/** GitHub wants the serialised client_payload to be less than 64 KB. */
export const CLIENT_PAYLOAD_MAX_BYTES = 64 * 1024

export function buildClientPayload(context: StepContext): ClientPayload {
  const { callbackUrl, runId, chain, step, steps, push, attempt } = context
  return {
    callback_url: callbackUrl,
    run_id: runId,
    chain,
    step,
    steps,
    image: payloadImage(context),
    pusher: push.pusher,
    pushed_at: push.pushedAt,
    source: push.source,
    attempt,
  }
}

/** The pushed image; `previous` only for a step that was told of one (a rollback). */
export function payloadImage({ push, image: pinned, previous }: StepContext): PayloadImage {
  const image = pinned ?? imageOf(push)
  if (previous === undefined) return image
  return {
    ...image,
    previous: previous && { reference: previous.reference, digest: previous.digest },
  }
}

/**
 * Checks a dispatch against GitHub's limits before it is sent, so that an oversized request ends
 * the step with a clear reason instead of GitHub's 422. Returns what is over, or null.
 */
export function checkDispatchRequest(eventType: string, clientPayload: unknown): string | null {
  const problems: string[] = []
  const length = [...eventType].length
  if (length === 0) problems.push('event_type is empty; GitHub needs 1 to 100 characters')
  if (length > EVENT_TYPE_MAX) {
    problems.push(
      `event_type is ${length} characters; GitHub accepts at most ${EVENT_TYPE_MAX}: shorten the step's event_type`,
    )
  }
  if (typeof clientPayload !== 'object' || clientPayload === null || Array.isArray(clientPayload)) {
    problems.push('client_payload must be a JSON object')
    return problems.join('; ')
  }
  const keys = Object.keys(clientPayload)
  if (keys.length > CLIENT_PAYLOAD_MAX_KEYS) {
    problems.push(
      `client_payload has ${keys.length} top-level keys (${keys.join(', ')}); GitHub accepts at most ${CLIENT_PAYLOAD_MAX_KEYS}`,
    )
  }
  const bytes = Buffer.byteLength(JSON.stringify(clientPayload))
  if (bytes >= CLIENT_PAYLOAD_MAX_BYTES) {
    problems.push(
      `client_payload is ${bytes} bytes as JSON; GitHub accepts less than 64 KB (${CLIENT_PAYLOAD_MAX_BYTES} bytes)`,
    )
  }
  return problems.length > 0 ? problems.join('; ') : null
}
