import { createHash } from 'node:crypto'
import type { GitHubAuth } from '../config/settings.js'
import type { Store } from '../store/store.js'
import {
  type PacerClock,
  pacingInterval,
  realClock,
  UNPACED,
  type WritePacer,
} from './write-pacer.js'

/**
 * Which rate limit a set of credentials draws on, as a key safe to store: GitHub's secondary rate
 * limit is per token (or per App installation), whichever relay sends the write.
 */
export function pacingKey(auth: GitHubAuth | null, apiUrl: string): string {
  const who =
    auth === null
      ? 'none'
      : auth.kind === 'token'
        ? `token:${auth.token}`
        : `app:${auth.appId}:${auth.installationId}`
  return `github-writes:${createHash('sha256').update(`${apiUrl}\n${who}`).digest('hex')}`
}

/**
 * The longest a dispatch may wait for its write slot when its job is leased for `leaseMs`. A job
 * still waiting when its lease runs out is claimed again by a relay and sent twice; a third of
 * the lease leaves the rest for the request itself (10 s per try by default).
 */
export function slotWaitLimit(leaseMs: number): number {
  return Math.floor(leaseMs / 3)
}

/** No write slot within the wait limit: the write should go back to the outbox and come again. */
export class NoWriteSlotError extends Error {
  override name = 'NoWriteSlotError'
  constructor(
    /** How long until the next free slot. */
    readonly retryAfterMs: number,
    writesPerMinute: number,
    maxWaitMs: number,
  ) {
    super(
      `GitHub writes are paced at ${writesPerMinute} a minute across every relay on this database, and the next free slot is ${seconds(retryAfterMs)} away, longer than a dispatch may wait for one (${seconds(maxWaitMs)}); the dispatch goes back to the outbox`,
    )
  }
}

/**
 * Paces writes at `writesPerMinute` across every relay that shares the store: each write takes
 * the next slot from the database, then sleeps until it. 0 = unpaced, with no database call.
 * A write whose slot would be more than `maxWaitMs` away takes none and fails with
 * `NoWriteSlotError`, so that a backlog waits in the outbox and not under a lease.
 */
export function createClusterPacer(
  store: Pick<Store, 'reserveSlot'>,
  key: string,
  writesPerMinute: number,
  clock: PacerClock = realClock,
  maxWaitMs = Number.POSITIVE_INFINITY,
): WritePacer {
  const intervalMs = pacingInterval(writesPerMinute)
  if (intervalMs === null) return UNPACED
  if (!(maxWaitMs >= 0)) throw new RangeError(`the longest wait for a slot must be ≥ 0 ms`)
  return {
    async acquire() {
      const now = clock.now()
      const latest = Number.isFinite(maxWaitMs) ? now + maxWaitMs : undefined
      const slot = await store.reserveSlot(key, intervalMs, now, latest)
      if (latest !== undefined && slot > latest) {
        throw new NoWriteSlotError(slot - now, writesPerMinute, maxWaitMs)
      }
      const wait = slot - clock.now()
      if (wait > 0) await clock.sleep(wait)
    },
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}
