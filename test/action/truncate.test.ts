import { describe, expect, it } from 'vitest'
import { characterLength, truncate } from '../../src/action/truncate.js'

describe('truncate', () => {
  it('leaves a text within the limit as it is', () => {
    expect(truncate('a'.repeat(255), 255)).toBe('a'.repeat(255))
  })

  it('cuts a long text to the limit, ending with an ellipsis', () => {
    const cut = truncate('a'.repeat(300), 255)
    expect(characterLength(cut)).toBe(255)
    expect(cut).toBe(`${'a'.repeat(254)}…`)
  })

  it('drops the spaces before the ellipsis', () => {
    expect(truncate('Deployed to staging and production', 13)).toBe('Deployed to…')
  })

  it('counts characters as the callback schema does, not UTF-16 units', () => {
    expect(characterLength('🚀🚀')).toBe(2)
    expect(truncate('🚀'.repeat(10), 10)).toBe('🚀'.repeat(10))
  })

  it('never splits an emoji or a letter with its accent', () => {
    const family = '👨‍👩‍👧' // three emoji joined by two zero-width joiners: five code points
    const cut = truncate(`ab${family}${'x'.repeat(20)}`, 6)
    expect(cut).toBe('ab…')
    expect(truncate('cafe\u0301 au lait', 6)).toBe('cafe\u0301…')
  })
})
