import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../../src/relay/deliverers/retry-after.js'

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-26T12:00:00Z')

  it.each([
    ['120', 120_000],
    [' 5 ', 5000],
    ['0', 0],
    ['Thu, 26 Nov 2026 12:01:30 GMT', 90_000],
    ['Thu, 26 Nov 2026 11:00:00 GMT', 0],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })

  it.each([null, undefined, '', '-1', '1.5', 'soon', '12abc'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeNull()
  })
})
