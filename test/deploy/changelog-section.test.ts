import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { changelogSection } from '../../scripts/changelog-section.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCRIPT = join(ROOT, 'scripts/changelog-section.ts')

const CHANGELOG = `# Changelog

Intro text.

## [Unreleased]

- Something coming.

## [1.2.0] - 2026-12-05

### Added

- A thing.

### Fixed

- Another thing.

## [1.2.0-rc.1] - 2026-12-01

- The candidate.

## 1.1.0 - 2026-11-30

- Plain heading.

## [1.0.0] - 2026-11-01

- The first.

[Unreleased]: https://github.com/acme/hookchain/compare/v1.2.0...HEAD
[1.2.0]: https://github.com/acme/hookchain/compare/v1.1.0...v1.2.0
`

describe('changelogSection', () => {
  it.each([
    ['1.2.0', '### Added\n\n- A thing.\n\n### Fixed\n\n- Another thing.\n'],
    ['v1.2.0', '### Added\n\n- A thing.\n\n### Fixed\n\n- Another thing.\n'],
    ['1.2.0-rc.1', '- The candidate.\n'],
    ['1.1.0', '- Plain heading.\n'],
    ['1.0.0', '- The first.\n'],
    ['Unreleased', '- Something coming.\n'],
    ['unreleased', '- Something coming.\n'],
  ])('gives the section of %s, without its heading or the links below', (version, expected) => {
    expect(changelogSection(CHANGELOG, version)).toBe(expected)
  })

  it('says which heading to add for a version it does not have', () => {
    expect(() => changelogSection(CHANGELOG, 'v2.0.0')).toThrow(
      'the changelog has no section for 2.0.0: add a "## [2.0.0] - YYYY-MM-DD" heading',
    )
    expect(() => changelogSection(CHANGELOG, '1.2')).toThrow('no section for 1.2')
  })

  it('refuses a section with nothing in it', () => {
    expect(() => changelogSection('## [1.0.0] - 2026-01-01\n\n## [0.9.0]\n- x\n', '1.0.0')).toThrow(
      "the changelog's section for 1.0.0 is empty",
    )
  })

  it('reads CRLF line ends', () => {
    expect(changelogSection('## [1.0.0]\r\n\r\n- x\r\n', '1.0.0')).toBe('- x\n')
  })
})

describe("the repository's CHANGELOG.md", () => {
  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')

  it("has a section for package.json's version, which the release workflow will publish", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(changelogSection(changelog, version)).toMatch(/^### Added$/m)
    expect(changelogSection(changelog, 'Unreleased')).toMatch(/^### Added$/m)
  })
})

describe('scripts/changelog-section.ts', () => {
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', SCRIPT, ...args],
        { cwd: ROOT },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      )
    })

  it('prints the section as the release notes', async () => {
    const result = await cli('CHANGELOG.md', 'v0.1.0')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(
      changelogSection(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'), '0.1.0'),
    )
  })

  it('fails with the file and what to add when the version has no section', async () => {
    const result = await cli('CHANGELOG.md', 'v99.0.0')
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('CHANGELOG.md: the changelog has no section for 99.0.0')
  })

  it('says how to call it when an argument is missing', async () => {
    const result = await cli('CHANGELOG.md')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Usage: changelog-section.ts CHANGELOG.md VERSION')
  })
})
