export interface BackoffOptions {
  baseMs?: number
  capMs?: number
  /** Returns a number in [0, 1); injected by tests. */
  random?: () => number
}

/**
 * Delay before retry number `attemptNumber` (1 = the first retry): capped exponential backoff with
 * full jitter, a random delay between 0 and min(cap, base × 2^(attemptNumber − 1)), so that relays
 * retrying after the same outage spread out instead of arriving together.
 */
export function retryDelayMs(
  attemptNumber: number,
  { baseMs = 1000, capMs = 5 * 60_000, random = Math.random }: BackoffOptions = {},
): number {
  const exponent = Math.max(0, Math.floor(attemptNumber) - 1)
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent)
  return Math.floor(random() * ceiling)
}
