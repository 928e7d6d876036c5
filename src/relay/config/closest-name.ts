/**
 * The candidate a mistyped name most likely meant (`step_timout` → `step_timeout`,
 * `publicUrl` → `public_url`), or null when none is close.
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const simple = (s: string) => s.toLowerCase().replaceAll(/[-_]/g, '')
  let best: { candidate: string; distance: number } | null = null
  for (const candidate of candidates) {
    const distance =
      simple(candidate) === simple(name) ? 0 : editDistance(name.toLowerCase(), candidate)
    if (
      distance <= Math.max(1, Math.floor(candidate.length / 4)) &&
      (!best || distance < best.distance)
    ) {
      best = { candidate, distance }
    }
  }
  return best?.candidate ?? null
}

/** Edit distance where an insertion, a deletion, a substitution or a swap of neighbours counts one. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1)
      }
      const row = rows[i]
      if (row) row[j] = best
    }
  }
  return at(a.length, b.length)
}
