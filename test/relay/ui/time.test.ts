import { describe, expect, it } from 'vitest'
import { clockTag, formatAge, formatElapsed, formatInstant } from '../../../src/relay/ui/time.js'

const now = new Date('2026-11-26T22:00:00Z')
const before = (ms: number) => new Date(now.getTime() - ms).toISOString()

describe('formatAge', () => {
  it.each([
    [2_000, 'just now'],
    [42_000, '42 s ago'],
    [3 * 60_000 + 59_000, '3 min ago'],
    [5 * 3_600_000, '5 h ago'],
    [30 * 3_600_000, 'yesterday'],
    [3 * 86_400_000, '3 days ago'],
    [40 * 86_400_000, 'on 2026-10-17'],
    [-27 * 60_000, 'in 27 min'],
  ])('says %i ms before now is "%s"', (ms, expected) => {
    expect(formatAge(before(ms), now)).toBe(expected)
  })
})

describe('formatElapsed', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [1_234, '1.2 s'],
    [12_900, '12 s'],
    [60_000, '1 min'],
    [185_000, '3 min 5 s'],
    [2 * 3_600_000 + 4 * 60_000, '2 h 4 min'],
    [3 * 86_400_000 + 2 * 3_600_000, '3 d 2 h'],
    [-5, '—'],
  ])('says %i ms is "%s"', (ms, expected) => {
    expect(formatElapsed(ms)).toBe(expected)
  })
})

describe('times on the pages', () => {
  it('are UTC, to the second', () => {
    expect(formatInstant('2026-11-26T21:31:57.123Z')).toBe('2026-11-26 21:31:57 UTC')
  })

  it('show a log time without its date on the run’s own day', () => {
    expect(clockTag('2026-11-26T21:31:57Z', now, '2026-11-26').text).toContain('>21:31:57</time>')
    expect(clockTag('2026-11-27T00:01:00Z', now, '2026-11-26').text).toContain(
      '>2026-11-27 00:01:00</time>',
    )
  })
})
