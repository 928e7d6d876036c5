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

/**
 * Reads a `Retry-After` header (delay in seconds, or an HTTP-date) as milliseconds from `now`.
 * null when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  const text = value?.trim()
  if (!text) return null
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!/[a-z]/i.test(text)) return null
  const at = Date.parse(text)
  if (Number.isNaN(at)) return null
  return Math.max(0, at - now.getTime())
}
