import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { globMatcher, globProblem, MAX_ALTERNATIVES } from '../../../src/relay/model/glob.js'

describe('globMatcher', () => {
  it.each([
    ['v*', 'v1.2.3', true],
    ['v*', 'latest', false],
    ['*-rc*', '1.0-rc1', true],
    ['acme/*', 'acme/app', true],
    ['acme/*', 'acme/team/app', false],
    ['acme/**', 'acme', true],
    ['acme/**', 'acme/team/app', true],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a/xb', false],
    ['**/app', 'app', true],
    ['**/app', 'docker.io/acme/app', true],
    ['*', 'a/b', false],
    ['*', '', false],
    ['a/*', 'a/', false],
    ['v?', 'v1', true],
    ['v?', 'v10', false],
    ['v[0-9]*', 'v1.0', true],
    ['v[0-9]*', 'vx', false],
    ['[!v]*', 'latest', true],
    ['[^v]*', 'v1', false],
    ['{v,release-}*', 'release-2', true],
    ['{v,release-}*', 'rc1', false],
    ['{a,{b,c}d}', 'cd', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
  ])('%s against %j: %s', (pattern, text, expected) => {
    expect(globMatcher(pattern)(text)).toBe(expected)
  })

  it('ignores case only when asked', () => {
    expect(globMatcher('Acme/App')('acme/app')).toBe(false)
    expect(globMatcher('Acme/App', { nocase: true })('acme/APP')).toBe(true)
  })

  it('takes a text that any of several patterns matches', () => {
    const matches = globMatcher(['v*', 'latest'])
    expect(['v1', 'latest', 'edge'].map(matches)).toEqual([true, true, false])
  })

  it('agrees with a RegExp of the same meaning on stars, globstars, ? and classes', () => {
    const part = fc.constantFrom('a', 'b', '.', '-', '*', '?', '[ab]', '[!a]')
    const segment = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.array(part, { minLength: 1, maxLength: 5 }).map((p) => p.join('')),
      },
      { weight: 1, arbitrary: fc.constant('**') },
    )
    const pattern = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'))
    const text = fc
      .array(fc.constantFrom('a', 'b', '.', '-', '/'), { maxLength: 10 })
      .map((chars) => chars.join(''))
      // As in repositories and tags: each segment starts with a letter or digit.
      .filter((t) => t.split('/').every((segment) => /^[ab]/.test(segment)))
    fc.assert(
      fc.property(pattern, text, (p, t) => {
        expect(globMatcher(p)(t), `${p} against ${t}`).toBe(oracle(p).test(t))
      }),
      { numRuns: 5000 },
    )
  })

  // picomatch, the matcher before, compiled a RegExp that takes 70 ms for this on a 26-character
  // tag, growing exponentially: 128 characters blocked the event loop for good. The timeout checks.
  it('matches a pattern of many stars against long tags at once', { timeout: 5_000 }, () => {
    const matches = globMatcher(['*a*a*a*a*a*a*a*a*a*a*b', '*a*a*a*a*a*a*a*a*a*a*'])
    for (let i = 0; i < 200; i++) {
      expect(matches('a'.repeat(127))).toBe(true)
      expect(matches(`${'a'.repeat(126)}c`)).toBe(true)
    }
    expect(globMatcher('*a*a*a*a*a*a*a*a*a*a*b')('a'.repeat(128))).toBe(false)
  })
})

describe('globProblem', () => {
  it('takes the globs chains use', () => {
    for (const pattern of [
      'acme/*',
      'docker.io/acme/**',
      'v*',
      '{v,release-}[0-9]*',
      'sha256-*.sig',
    ]) {
      expect(globProblem(pattern)).toBeNull()
    }
  })

  it('refuses extglobs, saying what to write instead', () => {
    expect(globProblem('@(v1|v2)')).toBe(
      '"(" is not taken: extglobs such as @(a|b) are not supported, and no repository or tag holds it; use alternatives in braces, like {a,b}',
    )
  })

  it(`refuses braces that make more than ${MAX_ALTERNATIVES} alternatives`, () => {
    expect(globProblem('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}')).toBeNull()
    expect(globProblem('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}')).toMatch(
      /more than 64 alternatives; split it into several patterns/,
    )
  })

  it('refuses a class whose range runs backwards', () => {
    expect(globProblem('v[9-0]')).toBe('the range 9-0 in [9-0] is backwards')
  })
})

/**
 * The glob as a backtracking RegExp, slow on long texts but plain to read: the meaning the
 * matcher must have, on the syntax the property test generates.
 */
function oracle(pattern: string): RegExp {
  // Globstars in a row mean one globstar.
  const segments = pattern.split('/').filter((s, i, all) => s !== '**' || all[i - 1] !== '**')
  let source = ''
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1
    if (segment === '**') {
      if (segments.length === 1) source += '.*'
      else if (last)
        source = source.endsWith('/') ? `${source.slice(0, -1)}(?:/.*)?` : `${source}.*`
      else source += '(?:.*/)?'
      return
    }
    source += segment === '*' ? '[^/]+' : segmentSource(segment)
    if (!last) source += '/'
  })
  return new RegExp(`^${source}$`)
}

function segmentSource(segment: string): string {
  return segment.replaceAll(/\*+|\?|\[!?[^\]]+\]|[.-]|[ab]/g, (piece) => {
    if (piece.startsWith('*')) return '[^/]*'
    if (piece === '?') return '[^/]'
    if (piece.startsWith('[!')) return `[^${piece.slice(2, -1)}/]`
    if (piece.startsWith('[')) return piece
    return piece === '.' ? '\\.' : piece
  })
}
