/** Counts requests per key in fixed windows; the keys counted at once are bounded. */
export interface RateLimiter {
  /** Counts one request for `key`: null while it is within the limit, else seconds to wait. */
  take(key: string): number | null
}

export function createRateLimiter({
  limit,
  windowMs,
  maxKeys,
  now = Date.now,
}: {
  limit: number
  windowMs: number
  /** Past this many keys the oldest window is forgotten: memory stays bounded under a flood. */
  maxKeys: number
  now?: () => number
}): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>()
  return {
    take(key) {
      const at = now()
      let window = windows.get(key)
      if (!window || at - window.start >= windowMs) {
        windows.delete(key)
        window = { start: at, count: 0 }
        windows.set(key, window)
        if (windows.size > maxKeys) {
          const oldest = windows.keys().next().value
          if (oldest !== undefined) windows.delete(oldest)
        }
      }
      window.count++
      if (window.count <= limit) return null
      return Math.max(1, Math.ceil((window.start + windowMs - at) / 1000))
    },
  }
}
