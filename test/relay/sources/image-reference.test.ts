import { describe, expect, it } from 'vitest'
import {
  checkRegistry,
  checkRepository,
  checkTag,
  hostOf,
  isDigest,
  parseImageReference,
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

describe('parseImageReference', () => {
  const digest = `sha256:${'ab'.repeat(32)}`
  it.each([
    [
      'ghcr.io/acme/app:v1.2.0',
      { registry: 'ghcr.io', repository: 'acme/app', tag: 'v1.2.0', digest: null },
    ],
    [
      `ghcr.io/acme/app@${digest}`,
      { registry: 'ghcr.io', repository: 'acme/app', tag: null, digest },
    ],
    [
      `ghcr.io/acme/app:v1@${digest}`,
      { registry: 'ghcr.io', repository: 'acme/app', tag: 'v1', digest },
    ],
    [
      'acme/app:latest',
      { registry: 'docker.io', repository: 'acme/app', tag: 'latest', digest: null },
    ],
    [
      'nginx:1.27',
      { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: null },
    ],
    [
      'index.docker.io/nginx:1',
      { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: null },
    ],
    [
      'localhost/acme/app:v1',
      { registry: 'localhost', repository: 'acme/app', tag: 'v1', digest: null },
    ],
    [
      '127.0.0.1:5000/team/acme/app:v1',
      { registry: '127.0.0.1:5000', repository: 'team/acme/app', tag: 'v1', digest: null },
    ],
    [
      'Registry.Example.com:5000/acme/app:v1',
      { registry: 'registry.example.com:5000', repository: 'acme/app', tag: 'v1', digest: null },
    ],
  ])('reads %s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected)
  })

  it.each([
    ['ghcr.io/acme/app', 'names neither a tag nor a digest'],
    ['ghcr.io/Acme/app:v1', 'which is not one'],
    ['ghcr.io/acme/app:-v1', 'which is not a valid tag'],
    ['ghcr.io/acme/app@sha256', 'which is not a digest'],
    ['', 'must be 1 to 512 characters'],
    [`ghcr.io/acme/${'a'.repeat(600)}:v1`, 'must be 1 to 512 characters'],
  ])('refuses %s, saying why', (text, problem) => {
    const parsed = parseImageReference(text)
    expect('problem' in parsed && parsed.problem).toContain(problem)
  })
})
