/** Spaces GitHub writes under the secondary rate limit. Small on purpose: a cluster-wide pacer can replace it. */
export interface WritePacer {
  /** Resolves when the caller may make its write. */
  acquire(): Promise<void>
}

export interface PacerClock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const realClock: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/**
 * Paces the writes of this process evenly at `writesPerMinute` (0 = unpaced), first come first
 * served. Each caller is given the next free slot at once and sleeps until it; nothing polls.
 */
export const UNPACED: WritePacer = { acquire: () => Promise.resolve() }

/** Milliseconds between two writes at `writesPerMinute`; null when unpaced (0). */
export function pacingInterval(writesPerMinute: number): number | null {
  if (!Number.isFinite(writesPerMinute) || writesPerMinute < 0) {
    throw new RangeError(
      `writes per minute must be 0 (unpaced) or a positive number, not ${writesPerMinute}`,
    )
  }
  return writesPerMinute === 0 ? null : 60_000 / writesPerMinute
}

export function createLocalPacer(
  writesPerMinute: number,
  clock: PacerClock = realClock,
): WritePacer {
  const intervalMs = pacingInterval(writesPerMinute)
  if (intervalMs === null) return UNPACED
  let nextSlot = Number.NEGATIVE_INFINITY
  return {
    async acquire() {
      const now = clock.now()
      const slot = Math.max(now, nextSlot)
      nextSlot = slot + intervalMs
      if (slot > now) await clock.sleep(slot - now)
    },
  }
}
