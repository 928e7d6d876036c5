import { describe, expect, it } from 'vitest'
import { splitPatterns } from '../../src/action/test-result-patterns.js'

describe('splitPatterns', () => {
  it.each([
    ['one pattern', 'reports/**/*.xml', ['reports/**/*.xml']],
    ['one per line', 'a/*.xml\n  b/*.xml  \r\n', ['a/*.xml', 'b/*.xml']],
    ['comma separated', 'a/*.xml, b/*.xml,c.xml', ['a/*.xml', 'b/*.xml', 'c.xml']],
    [
      'commas inside braces',
      'reports/{unit,e2e}/*.xml, x.xml',
      ['reports/{unit,e2e}/*.xml', 'x.xml'],
    ],
    ['blank entries and comments', '\n# JUnit files\na.xml,,\n', ['a.xml']],
    [
      'an exclusion',
      'reports/**/*.xml\n!reports/flaky/**',
      ['reports/**/*.xml', '!reports/flaky/**'],
    ],
    ['nothing', '', []],
  ])('splits %s', (_name, input, expected) => {
    expect(splitPatterns(input)).toEqual(expected)
  })
})
