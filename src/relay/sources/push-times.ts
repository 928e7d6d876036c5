// When an image was pushed, as ISO 8601 UTC; null when the registry's value is absent or not
// believable (GitHub sends 0001-01-01T00:00:00Z for container versions), and the caller then
// falls back to the time of receipt.

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
const EARLIEST_MS = Date.UTC(1971, 0, 1)
const LATEST_MS = Date.UTC(9999, 11, 31)

export function isoFromEpochSeconds(value: unknown): string | null {
  if (typeof value !== 'number') return null
  return believable(value * 1000)
}

export function isoTimestamp(value: unknown): string | null {
  if (typeof value !== 'string' || !RFC3339.test(value)) return null
  return believable(Date.parse(value))
}

function believable(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < EARLIEST_MS || ms > LATEST_MS) return null
  return new Date(Math.round(ms)).toISOString()
}
