import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../../../src/relay/config/duration.js'

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
    ['0s', 0],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', '30', '30 m', '1.5h', '30m1h', '1w', '-5m', '5M', 'm'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeNull()
  })
})

describe('formatDuration', () => {
  it.each([
    [1_000, '1s'],
    [604_800_000, '7d'],
    [5_400_000, '1h30m'],
    [0, '0s'],
    [300, '300ms'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})
