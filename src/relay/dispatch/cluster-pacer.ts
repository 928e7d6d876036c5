import { createHash } from 'node:crypto'
import type { GitHubAuth } from '../config/settings.js'
import type { Store } from '../store/store.js'
import { type PacerClock, pacingInterval, realClock, UNPACED, type WritePacer } from './pacer.js'

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
 * Paces writes at `writesPerMinute` across every relay that shares the store: each write takes
 * the next slot from the database, then sleeps until it. 0 = unpaced, with no database call.
 */
export function createClusterPacer(
  store: Pick<Store, 'reserveSlot'>,
  key: string,
  writesPerMinute: number,
  clock: PacerClock = realClock,
): WritePacer {
  const intervalMs = pacingInterval(writesPerMinute)
  if (intervalMs === null) return UNPACED
  return {
    async acquire() {
      const now = clock.now()
      const slot = await store.reserveSlot(key, intervalMs, now)
      const wait = slot - clock.now()
      if (wait > 0) await clock.sleep(wait)
    },
  }
}
