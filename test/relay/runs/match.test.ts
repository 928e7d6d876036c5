import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { chainsFor } from '../../../src/relay/runs/match.js'
import { push, release } from './run-fixture.js'

const everyTag: Chain = { ...release, name: 'all', match: { repository: 'acme/*', tags: null } }
const pinned: Chain = {
  ...release,
  name: 'ghcr-only',
  match: { repository: 'ghcr.io/acme/app', tags: null },
}

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
  ])('matches %s', (_name, overrides, expected) => {
    expect(
      chainsFor({ ...push, ...overrides }, [release, everyTag, pinned]).map((c) => c.name),
    ).toEqual(expected)
  })
})
