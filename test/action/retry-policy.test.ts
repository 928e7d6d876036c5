import { describe, expect, it } from 'vitest'
import {
  backoffDelay,
  isRetryableStatus,
  MAX_BACKOFF_MS,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
} from '../../src/action/retry-policy.js'

describe('isRetryableStatus', () => {
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [429, true],
    [400, false],
    [404, false],
    [409, false],
    [422, false],
  ])('retries HTTP %i: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected)
  })
})

describe('backoffDelay', () => {
  it('doubles per retry, between half and all of the ceiling', () => {
    expect(backoffDelay(0, 1000, () => 0)).toBe(500)
    expect(backoffDelay(0, 1000, () => 1)).toBe(1000)
    expect(backoffDelay(2, 1000, () => 0)).toBe(2000)
    expect(backoffDelay(2, 1000, () => 1)).toBe(4000)
  })

  it('stops growing at the cap', () => {
    expect(backoffDelay(20, 1000, () => 1)).toBe(MAX_BACKOFF_MS)
  })
})

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-26T21:00:00Z')

  it.each([
    ['delay-seconds', '7', 7000],
    ['zero', '0', 0],
    ['an HTTP-date', 'Thu, 26 Nov 2026 21:00:05 GMT', 5000],
    ['a date in the past', 'Thu, 26 Nov 2026 20:00:00 GMT', 0],
    ['a long delay, capped', '3600', MAX_RETRY_AFTER_MS],
    ['no header', null, null],
    ['nonsense', 'soon', null],
    ['a negative number', '-5', null],
  ])('reads %s', (_name, header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected)
  })
})
