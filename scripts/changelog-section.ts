/**
 * Prints one version's section of a Keep a Changelog file, without its heading: the notes of that
 * version's GitHub release (.github/workflows/release.yml).
 *   node --import tsx scripts/changelog-section.ts CHANGELOG.md 1.2.0   (or v1.2.0, or Unreleased)
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { getErrorMessage } from '../src/shared/errors.js'

const HEADING = /^##\s+\[?([^\]\s]+)\]?(?:\s+-\s+.*)?\s*$/
const LINK_DEFINITION = /^\[[^\]]+\]:\s+\S+/

/** The body of `version`'s `## [version] - date` section; throws saying what to add when there is none. */
export function changelogSection(changelog: string, version: string): string {
  const wanted = version.replace(/^v(?=\d)/, '')
  const lines = changelog.split(/\r?\n/)
  const start = lines.findIndex(
    (line) => HEADING.exec(line)?.[1]?.toLowerCase() === wanted.toLowerCase(),
  )
  if (start < 0) {
    throw new Error(
      `the changelog has no section for ${wanted}: add a "## [${wanted}] - YYYY-MM-DD" heading with what changed`,
    )
  }
  const after = lines.slice(start + 1)
  const next = after.findIndex((line) => /^##\s/.test(line) || LINK_DEFINITION.test(line))
  const body = (next < 0 ? after : after.slice(0, next)).join('\n').trim()
  if (!body) {
    throw new Error(
      `the changelog's section for ${wanted} is empty: list what changed under its heading`,
    )
  }
  return `${body}\n`
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, version] = process.argv.slice(2)
  if (!file || !version) {
    console.error('Usage: changelog-section.ts CHANGELOG.md VERSION')
    process.exit(2)
  }
  try {
    process.stdout.write(changelogSection(readFileSync(file, 'utf8'), version))
  } catch (error) {
    console.error(`${file}: ${getErrorMessage(error)}`)
    process.exit(1)
  }
}
