import { takeIn } from '../../../src/relay/runs/intake.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import { push, release } from '../runs/run-fixture.js'

/** When the store suites' deliveries arrive, unless a test says otherwise. */
export const t0 = new Date('2026-11-26T21:32:00Z')

/** The fixture's push with its digest, so that its run's first step begins at once. */
export const pinnedPush: PushEvent = { ...push, digest: `sha256:${'7e'.repeat(32)}` }

/** A Docker Hub delivery and what it starts under the `release` chain, ready to store. */
export function delivery(
  deliveryId: string,
  {
    pushes = [pinnedPush],
    at = t0,
    payload = '{}',
  }: { pushes?: PushEvent[]; at?: Date; payload?: string } = {},
) {
  return takeIn(
    {
      source: 'dockerhub',
      normalised: { deliveryId, pushes, ignored: null },
      contentType: 'application/json',
      payload,
      receivedAt: at,
    },
    [release],
  )
}
