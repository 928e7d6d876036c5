import { describe, expect, it } from 'vitest'
import {
  checkRegistry,
  checkRepository,
  checkTag,
  hostOf,
  isDigest,
} from '../../../src/relay/sources/image-reference.js'
import { payloadFormat } from '../../../src/relay/sources/payload-format.js'
import { SourcePayloadError } from '../../../src/relay/sources/types.js'

const format = payloadFormat<string>('a test payload', { type: 'string' })

function verdict(check: () => string): 'ok' | 'refused' {
  try {
    check()
    return 'ok'
  } catch (error) {
    if (error instanceof SourcePayloadError) return 'refused'
    throw error
  }
}

describe('image references', () => {
  it.each([
    ['latest', 'ok'],
    ['v1.2.0-rc.1_build', 'ok'],
    ['_private', 'ok'],
    ['a'.repeat(128), 'ok'],
    ['a'.repeat(129), 'refused'],
    ['-flag', 'refused'],
    ['.dot', 'refused'],
    ['v1:2', 'refused'],
    ['tag\u0000', 'refused'],
    ['ünïcode', 'refused'],
    ['', 'refused'],
  ])('tag %j is %s', (tag, expected) => {
    expect(verdict(() => checkTag(format, tag, '/tag'))).toBe(expected)
  })

  it.each([
    ['acme/app', 'ok'],
    ['library/nginx', 'ok'],
    ['acme/team/app.v2__x--y', 'ok'],
    ['app', 'ok'],
    ['Acme/app', 'refused'],
    ['acme//app', 'refused'],
    ['/acme/app', 'refused'],
    ['acme/app/', 'refused'],
    ['acme/../app', 'refused'],
    ['acme/app:v1', 'refused'],
    [`acme/${'a'.repeat(251)}`, 'refused'],
  ])('repository %j is %s', (repository, expected) => {
    expect(verdict(() => checkRepository(format, repository, '/repository'))).toBe(expected)
  })

  it.each([
    ['docker.io', 'ok'],
    ['127.0.0.1:5055', 'ok'],
    ['registry.acme.example:5000', 'ok'],
    ['localhost', 'ok'],
    ['[::1]:5000', 'ok'],
    ['evil host', 'refused'],
    ['host/path', 'refused'],
    ['-bad.example', 'refused'],
    ['', 'refused'],
  ])('registry %j is %s', (host, expected) => {
    expect(verdict(() => checkRegistry(format, host, '/host'))).toBe(expected)
  })

  it('says what was expected, what came and where', () => {
    try {
      checkTag(format, 'v 1', '/push_data/tag')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(SourcePayloadError)
      expect((error as SourcePayloadError).pointer).toBe('/push_data/tag')
      expect((error as Error).message).toMatch(
        /^expected a test payload: \/push_data\/tag must be an image tag .*, not "v 1"$/,
      )
    }
  })

  it('recognises digests', () => {
    expect(
      isDigest('sha256:13d3afd90a502c84a071875c5760471732ee3171b7d807b8334c8eeedb87e979'),
    ).toBe(true)
    expect(isDigest('sha512+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564')).toBe(true)
    expect(isDigest('latest')).toBe(false)
    expect(isDigest('sha256:')).toBe(false)
    expect(isDigest(42)).toBe(false)
  })

  it.each([
    ['quay.io/acme/app', 'quay.io'],
    ['http://127.0.0.1:5055/v2/acme/app/manifests/sha256:13d3', '127.0.0.1:5055'],
    ['harbor.acme.example:8443/acme/app@sha256:5d3e', 'harbor.acme.example:8443'],
    ['', ''],
  ])('finds the host of %j', (reference, host) => {
    expect(hostOf(reference)).toBe(host)
  })
})
