import { describe, expect, it } from 'vitest'
import { isoFromEpochSeconds, isoTimestamp } from '../../../src/relay/sources/push-times.js'

describe('push times', () => {
  it('turns epoch seconds, fractions included, into ISO 8601 UTC', () => {
    expect(isoFromEpochSeconds(1.417566161e9)).toBe('2014-12-03T00:22:41.000Z')
    expect(isoFromEpochSeconds(1795728717.25)).toBe('2026-11-26T21:31:57.250Z')
  })

  it('normalises RFC 3339 timestamps to UTC with milliseconds', () => {
    expect(isoTimestamp('2026-11-26T21:31:57.542933561Z')).toBe('2026-11-26T21:31:57.542Z')
    expect(isoTimestamp('2026-11-27T08:31:57+11:00')).toBe('2026-11-26T21:31:57.000Z')
  })

  it.each([
    ['Go zero time', '0001-01-01T00:00:00Z'],
    ['a date without time zone', '2026-11-26 21:31:57'],
    ['words', 'yesterday'],
    ['a number', 1795728717],
    ['nothing', undefined],
  ])('does not believe %s as a timestamp', (_what, value) => {
    expect(isoTimestamp(value)).toBeNull()
  })

  it.each([
    ['zero', 0],
    ['a negative number', -5],
    ['infinity', Number.POSITIVE_INFINITY],
    ['milliseconds mistaken for seconds', 1795728717000],
    ['a string', '1795728717'],
  ])('does not believe %s as epoch seconds', (_what, value) => {
    expect(isoFromEpochSeconds(value)).toBeNull()
  })
})
