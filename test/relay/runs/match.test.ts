import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { isSignatureTag, namesSignatureTags } from '../../../src/relay/model/tag-patterns.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { chainsFor } from '../../../src/relay/runs/match.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import { push, release } from './run-fixture.js'

const everyTag: Chain = { ...release, name: 'all', match: { repository: 'acme/*', tags: null } }
const pinned: Chain = {
  ...release,
  name: 'ghcr-only',
  match: { repository: 'ghcr.io/acme/app', tags: null },
}

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4'

describe('chainsFor', () => {
  it.each([
    ['a tag matching a glob', { tag: 'v1.2.0' }, ['release', 'all']],
    ['an exact tag', { tag: 'latest' }, ['release', 'all']],
    ['a tag no glob takes', { tag: 'dev' }, ['all']],
    ['another repository of the owner', { repository: 'acme/web', tag: 'v1' }, ['all']],
    ['a repository in a nested path', { repository: 'acme/team/app', tag: 'v1' }, []],
    ['a repository of another owner', { repository: 'other/app', tag: 'v1' }, []],
    ['a registry named in the pattern', { registry: 'ghcr.io', tag: 'dev' }, ['all', 'ghcr-only']],
    ['a repository in other case', { repository: 'ACME/App', tag: 'latest' }, ['release', 'all']],
    ['a push by digest alone', { tag: null, digest: `sha256:${HEX}` }, ['all']],
  ])('matches %s', (_name, overrides, expected) => {
    expect(
      chainsFor({ ...push, ...overrides }, [release, everyTag, pinned]).map((c) => c.name),
    ).toEqual(expected)
  })
})

/** Whether a chain of acme/app with these tag patterns starts on `tag`. */
function takes(tags: string[] | null, tag: string | null): boolean {
  const chain: Chain = { ...release, match: { repository: 'acme/app', tags } }
  return chainsFor({ ...push, tag }, [chain]).length === 1
}

describe('tag patterns with exclusions', () => {
  const release = ['v*', 'latest', '!*-rc*']
  it.each([
    [release, 'v1.2.0', true],
    [release, 'latest', true],
    [release, 'v1.2.0-rc1', false],
    [release, 'v2-rc', false],
    [release, 'dev', false],
    [release, 'dev-rc1', false],
    [['!*-rc*'], 'v1.2.0', true],
    [['!*-rc*'], 'dev', true],
    [['!*-rc*'], 'v1.2.0-rc1', false],
    [['!dev', '!test-*'], 'main', true],
    [['!dev', '!test-*'], 'dev', false],
    [['!dev', '!test-*'], 'test-42', false],
    [['!dev', '!test-*'], 'development', true],
    // An exclusion wins whatever the order of the patterns.
    [['!latest', 'latest', 'v*'], 'latest', false],
    [['!latest', 'latest', 'v*'], 'v1', true],
    // As before with picomatch: `*` takes tags with dots, and those starting with one.
    [['*'], '.hidden', true],
    [['!.*'], '.hidden', false],
    [['v[0-9]*', '!v0*'], 'v0.9', false],
    [['v[0-9]*', '!v0*'], 'v1.0', true],
    [['!*'], 'v1', false],
  ] as const)('%j takes %s: %s', (tags, tag, expected) => {
    expect(takes([...tags], tag)).toBe(expected)
  })

  it('takes no push by digest alone once a chain lists tags, exclusions only or not', () => {
    expect(takes(['!*-rc*'], null)).toBe(false)
    expect(takes(['v*'], null)).toBe(false)
    expect(takes(null, null)).toBe(true)
  })
})

describe('tags of signatures, attestations and SBOMs', () => {
  const sig = `sha256-${HEX}.sig`
  const att = `sha256-${HEX}.att`
  const sbom = `sha256-${HEX}.sbom`
  const referrers = `sha256-${HEX}`

  it.each([
    [sig, true],
    [att, true],
    [sbom, true],
    [referrers, true],
    [`sha256-${HEX}.SIG`, false],
    [`sha256-${HEX.slice(1)}.sig`, false],
    [`sha256-${HEX.toUpperCase()}.sig`, false],
    [`sha256-${HEX}.sig2`, false],
    [`sha512-${HEX}.sig`, false],
    ['v1.sig', false],
    ['latest', false],
  ])('%s is a signature tag: %s', (tag, expected) => {
    expect(isSignatureTag(tag)).toBe(expected)
  })

  it.each([
    ['sha256-*', true],
    ['sha256-*.sig', true],
    [`sha256-${HEX}.att`, true],
    ['*.sig', true],
    ['*.att', true],
    ['*.sbom', true],
    ['*', false],
    ['**', false],
    ['*-*', false],
    ['sha*', false],
    ['[a-z]*', false],
    ['?*', false],
  ])('the pattern %s names them explicitly: %s', (pattern, expected) => {
    expect(namesSignatureTags(pattern)).toBe(expected)
  })

  it.each([
    ['no tag patterns', null, [sig, att, sbom, referrers], []],
    ['"*"', ['*'], [sig, referrers], []],
    ['patterns that match them by accident', ['*-*', 'sha*', '?*'], [sig, referrers], []],
    ['exclusions only', ['!*-rc*'], [sig, att, referrers], []],
    ['"sha256-*"', ['sha256-*'], [sig, att, sbom, referrers], [sig, att, sbom, referrers]],
    ['"*.sig"', ['*.sig'], [sig, att, sbom, referrers], [sig]],
    ['"sha256-*.sig" and "*.att"', ['sha256-*.sig', '*.att'], [sig, att, sbom], [sig, att]],
    [
      '"sha256-*" less "!*.sbom"',
      ['sha256-*', '!*.sbom'],
      [sig, sbom, referrers],
      [sig, referrers],
    ],
    ['"*" and "*.sig"', ['*', '*.sig'], [sig, att, 'v1'], [sig, 'v1']],
  ] as const)('a chain with %s starts on %j only for %j', (_name, tags, offered, taken) => {
    const patterns = tags === null ? null : [...tags]
    expect(offered.filter((tag) => takes(patterns, tag))).toEqual(taken)
  })
})

describe('the outcome of a delivery', () => {
  const sig = `sha256-${HEX}.sig`
  const tagged = (...tags: string[]): PushEvent[] => tags.map((tag) => ({ ...push, tag }))
  const intake = (pushes: PushEvent[], chains: Chain[] = [release, everyTag]) =>
    takeIn(
      {
        source: 'dockerhub',
        normalised: { deliveryId: 'd-1', pushes, ignored: null },
        contentType: 'application/json',
        payload: '{}',
        receivedAt: new Date('2026-11-26T21:32:00Z'),
      },
      chains,
    )

  it('records a delivery of nothing but signature tags as ignored, saying why', () => {
    const { event, runs } = intake(tagged(sig, `sha256-${HEX}.att`))

    expect(runs).toEqual([])
    expect(event.outcome).toBe('ignored')
    expect(event.reason).toBe(
      `docker.io/acme/app:${sig}, docker.io/acme/app:sha256-${HEX}.att only carry signatures, attestations or SBOMs: a chain starts on such tags only when its match.tags names them, like "sha256-*.sig"`,
    )
    expect(event.pushes).toHaveLength(2)
  })

  it('starts runs for the real tags of a mixed delivery only', () => {
    const { event, runs } = intake(tagged('v1.2.0', sig))

    expect(event.outcome).toBe('started')
    expect(runs.map((run) => [run.chain, run.push.tag])).toEqual([
      ['release', 'v1.2.0'],
      ['all', 'v1.2.0'],
    ])
  })

  it('starts a chain that names signature tags on them', () => {
    const signing: Chain = {
      ...release,
      name: 'verify',
      match: { repository: 'acme/app', tags: ['*.sig'] },
    }
    const { event, runs } = intake(tagged(sig), [release, everyTag, signing])

    expect(event.outcome).toBe('started')
    expect(runs.map((run) => run.chain)).toEqual(['verify'])
  })

  it('still records real tags no chain takes as unmatched', () => {
    const { event } = intake(tagged('dev', sig), [release])

    expect(event.outcome).toBe('unmatched')
    expect(event.reason).toBe(`no chain matches docker.io/acme/app:dev, docker.io/acme/app:${sig}`)
  })
})
