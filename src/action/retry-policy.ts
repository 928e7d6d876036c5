/** A relay's `Retry-After` is honoured up to this long. */
export const MAX_RETRY_AFTER_MS = 60_000
/** The exponential backoff grows up to this long. */
export const MAX_BACKOFF_MS = 30_000

/** Overload and server faults may pass; any other answer will be the same next time. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}

/**
 * The wait before retry number `retry` (0 for the first): `baseMs` doubled per retry, capped,
 * then a random half of it dropped so that many steps failing together do not retry together.
 */
export function backoffDelay(
  retry: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** retry)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** `Retry-After` in milliseconds (delay-seconds or an HTTP-date), capped; `null` if absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null
  const value = header.trim()
  const ms = /^\d+$/.test(value)
    ? Number(value) * 1000
    : /^[A-Za-z]{3},/.test(value)
      ? Date.parse(value) - now
      : Number.NaN
  if (Number.isNaN(ms)) return null
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms))
}
