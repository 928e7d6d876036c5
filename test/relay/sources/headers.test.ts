import { describe, expect, it } from 'vitest'
import { bearerToken, singleHeader } from '../../../src/relay/sources/headers.js'

describe('singleHeader', () => {
  it('reads a header by name in any case, and refuses one sent twice', () => {
    const headers = { authorization: 'Bearer t', 'x-twice': ['a', 'b'], 'x-once': ['c'] }

    expect(singleHeader(headers, 'Authorization')).toBe('Bearer t')
    expect(singleHeader(headers, 'x-once')).toBe('c')
    expect(singleHeader(headers, 'x-twice')).toBeNull()
    expect(singleHeader(headers, 'x-missing')).toBeNull()
  })
})

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER  a b c ', 'a b c'],
    ['Basic abc', null],
    ['abc', null],
    ['Bearer ', null],
    [null, null],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token)
  })
})
