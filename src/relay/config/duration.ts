/** `90s`, `30m`, `2h`, `1d`, `1h30m`: units in falling order, each at most once. */
export const DURATION_PATTERN = '^(?=\\d)(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?$'

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const
const durationPattern = new RegExp(DURATION_PATTERN)

/** Milliseconds in a duration such as `1h30m`, or null when the text is not one. */
export function parseDuration(text: string): number | null {
  if (!durationPattern.test(text)) return null
  let ms = 0
  for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g)) {
    ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]
  }
  return ms
}

/** The shortest way to write a duration: `90000` → `1m30s`; under a second, in ms. */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms / 1000)
  let text = ''
  for (const [unit, unitMs] of Object.entries(UNIT_MS)) {
    const amount = Math.floor(rest / (unitMs / 1000))
    if (amount > 0) text += `${amount}${unit}`
    rest -= amount * (unitMs / 1000)
  }
  return text || (ms > 0 ? `${ms}ms` : '0s')
}
