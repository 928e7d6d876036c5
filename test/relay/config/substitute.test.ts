// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the syntax under test
import { describe, expect, it } from 'vitest'
import { substituteEnv } from '../../../src/relay/config/substitute.js'

describe('substituteEnv', () => {
  it('replaces references in strings at any depth, and records where they were', () => {
    const result = substituteEnv(
      { a: { b: ['${X}', 'plain', 7, true] }, c: 'pre-${Y:-why}-post' },
      { X: 'ex' },
    )
    expect(result.value).toEqual({ a: { b: ['ex', 'plain', 7, true] }, c: 'pre-why-post' })
    expect(result.substituted).toEqual([
      { path: ['a', 'b', 0], sources: ['X'] },
      { path: ['c'], sources: ['${Y:-…}'] },
    ])
    expect(result.problems).toEqual([])
  })

  it('does not change the document it is given', () => {
    const document = { token: '${X}' }
    substituteEnv(document, { X: 'x' })
    expect(document).toEqual({ token: '${X}' })
  })

  it('drops a key whose whole value is ${NAME:-} and comes out empty, but keeps a list item', () => {
    const result = substituteEnv({ gone: '${A:-}', kept: 'x${A:-}', list: ['${A:-}'] }, {})
    expect(result.value).toEqual({ kept: 'x', list: [''] })
  })

  it('keeps a reference with a non-empty default that the variable overrides with nothing', () => {
    expect(substituteEnv({ a: '${A:-}' }, { A: 'set' }).value).toEqual({ a: 'set' })
  })

  it('never reads a value twice, so a value holding ${…} stays as it is', () => {
    expect(substituteEnv({ a: '${A}' }, { A: '${B}', B: 'no' }).value).toEqual({ a: '${B}' })
  })

  it('turns $${ into ${ and leaves other dollars alone', () => {
    expect(substituteEnv({ a: '$${A} $A $$ $' }, { A: 'x' }).value).toEqual({ a: '${A} $A $$ $' })
  })

  it('reports each unset variable of a value', () => {
    const { problems } = substituteEnv({ url: 'https://${HOST}:${PORT}/' }, {})
    expect(problems.map((p) => p.message)).toEqual([
      'environment variable HOST is not set (or write ${HOST:-default})',
      'environment variable PORT is not set (or write ${PORT:-default})',
    ])
    expect(problems.every((p) => p.path.join('.') === 'url')).toBe(true)
  })
})
