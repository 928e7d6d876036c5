import { describe, expect, it } from 'vitest'
import {
  field,
  optionalCallbackUrl,
  optionalDigest,
  optionalName,
} from '../../../src/relay/sources/optional-fields.js'

describe('optional fields', () => {
  it('keeps an http(s) callback URL and drops anything else', () => {
    expect(optionalCallbackUrl('https://registry.hub.docker.com/u/a/b/hook/x/')).toBe(
      'https://registry.hub.docker.com/u/a/b/hook/x/',
    )
    expect(optionalCallbackUrl('http://10.0.0.1:8080/cb')).toBe('http://10.0.0.1:8080/cb')
    for (const value of [
      null,
      7,
      'ftp://x/y',
      'file:///etc/passwd',
      'https://x/ y',
      'https://x/\u0000',
      `https://x/${'a'.repeat(2048)}`,
      'relative/path',
    ]) {
      expect(optionalCallbackUrl(value)).toBeNull()
    }
  })

  it('keeps a printable pusher name and drops anything else', () => {
    expect(optionalName(' robot$acme+ci ')).toBe('robot$acme+ci')
    for (const value of ['', '   ', 'a\nb', 'x'.repeat(256), 5, {}]) {
      expect(optionalName(value)).toBeNull()
    }
  })

  it('keeps a digest and drops anything else', () => {
    const digest = 'sha256:13d3afd90a502c84a071875c5760471732ee3171b7d807b8334c8eeedb87e979'
    expect(optionalDigest(digest)).toBe(digest)
    expect(optionalDigest('latest')).toBeNull()
    expect(optionalDigest(undefined)).toBeNull()
  })

  it('reads a field of the object itself, never of its prototype', () => {
    expect(field({ pusher: 'a' }, 'pusher')).toBe('a')
    expect(field({}, 'toString')).toBeUndefined()
  })
})
