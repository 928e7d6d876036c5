import { describe, expect, it } from 'vitest'
import { parseRetryAfter, retryDelayMs } from '../../../src/relay/dispatch/backoff.js'

describe('retryDelayMs', () => {
  const highest = () => 0.999_999

  it('doubles the ceiling with every attempt, from the base', () => {
    const longest = [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, { random: highest }))

    expect(longest).toEqual([999, 1999, 3999, 7999, 15999])
  })

  it('never goes over the cap, however many attempts', () => {
    expect(retryDelayMs(30, { random: highest })).toBeLessThanOrEqual(300_000)
    expect(retryDelayMs(10_000, { random: highest })).toBeLessThanOrEqual(300_000)
    expect(retryDelayMs(4, { baseMs: 100, capMs: 500, random: highest })).toBeLessThanOrEqual(500)
  })

  it('spreads delays over the whole range (full jitter)', () => {
    expect(retryDelayMs(5, { random: () => 0 })).toBe(0)
    expect(retryDelayMs(5, { random: () => 0.5 })).toBe(8000)
  })

  it('treats attempt numbers below 1 as the first', () => {
    expect(retryDelayMs(0, { random: highest })).toBeLessThan(1000)
  })
})

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
