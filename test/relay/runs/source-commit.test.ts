import { describe, expect, it } from 'vitest'
import { githubRepository, sourceCommitOf } from '../../../src/relay/runs/source-commit.js'

const SHA = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'

describe('the source commit an image names', () => {
  it.each([
    ['https://github.com/acme/app', 'acme/app'],
    ['https://github.com/Acme/app.git', 'Acme/app'],
    ['https://github.com/acme/app/', 'acme/app'],
    ['git@github.com:acme/app.git', 'acme/app'],
    ['git+https://github.com/acme/app.git', 'acme/app'],
    ['ssh://git@github.com/acme/app', 'acme/app'],
    ['github.com/acme/app', 'acme/app'],
    ['https://github.com/acme/my.app.js', 'acme/my.app.js'],
    ['https://gitlab.com/acme/app', null],
    ['https://github.com/acme', null],
    ['https://github.com/acme/app/tree/main', null],
    ['https://github.com.evil.com/acme/app', null],
  ])('reads %s as %s', (source, expected) => {
    expect(githubRepository(source, 'https://github.com')).toBe(expected)
  })

  it('reads repositories of a GitHub Enterprise Server', () => {
    expect(
      githubRepository('https://github.acme.com/platform/app', 'https://github.acme.com'),
    ).toBe('platform/app')
    expect(
      githubRepository('https://github.com/platform/app', 'https://github.acme.com'),
    ).toBeNull()
  })

  it('is the repository and the revision, or says what is missing', () => {
    const github = 'https://github.com'
    expect(
      sourceCommitOf(
        { source: 'https://github.com/acme/app', revision: SHA },
        github,
        'oci-labels',
      ),
    ).toEqual({ repository: 'acme/app', sha: SHA, from: 'oci-labels' })
    expect(sourceCommitOf({ source: null, revision: null }, github, 'oci-labels')).toEqual({
      problem:
        'the image has no org.opencontainers.image.source and no org.opencontainers.image.revision label',
    })
    expect(
      sourceCommitOf(
        { source: 'https://gitlab.com/acme/app', revision: SHA },
        github,
        'oci-labels',
      ),
    ).toEqual({
      problem:
        'its org.opencontainers.image.source, "https://gitlab.com/acme/app", is not a repository on github.com',
    })
    expect(
      sourceCommitOf(
        { source: 'https://github.com/acme/app', revision: 'v1.2.0' },
        github,
        'oci-labels',
      ),
    ).toEqual({
      problem:
        'its org.opencontainers.image.revision, "v1.2.0", is not a commit SHA (40 hex digits)',
    })
  })
})
