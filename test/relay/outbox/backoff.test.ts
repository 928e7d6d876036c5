import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../../src/relay/outbox/backoff.js'

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
