import { describe, expect, it } from 'vitest'
import { closestName } from '../../../src/relay/config/closest-name.js'

const keys = ['name', 'match', 'step_timeout', 'steps']

describe('closestName', () => {
  it.each([
    ['step_timout', 'step_timeout'],
    ['stepTimeout', 'step_timeout'],
    ['step-timeout', 'step_timeout'],
    ['Steps', 'steps'],
    ['nmae', 'name'],
  ])('takes %s for %s', (typo, meant) => {
    expect(closestName(typo, keys)).toBe(meant)
  })

  it.each(['timeout', 'repository', 'x'])('has no guess for %s', (typo) => {
    expect(closestName(typo, keys)).toBeNull()
  })
})
