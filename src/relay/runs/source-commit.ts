import type { SourceCommit } from '../model/run.js'
import type { ImageLabels } from '../sources/types.js'

const OWNER = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})'
const NAME = '[A-Za-z0-9._-]{1,100}'
/** A git commit: SHA-1, or SHA-256 in repositories that use it. */
export const COMMIT_SHA = /^(?:[a-f0-9]{40}|[a-f0-9]{64})$/

/**
 * The GitHub repository and commit that labels name, for a GitHub at `githubWebUrl`
 * (https://github.com, or a GitHub Enterprise Server); why not, when they name none. Pure.
 */
export function sourceCommitOf(
  labels: ImageLabels,
  githubWebUrl: string,
  from: SourceCommit['from'],
): SourceCommit | { problem: string } {
  if (labels.source === null || labels.revision === null) {
    const missing = [
      labels.source === null ? 'org.opencontainers.image.source' : null,
      labels.revision === null ? 'org.opencontainers.image.revision' : null,
    ].filter((name) => name !== null)
    return { problem: `the image has no ${missing.join(' and no ')} label` }
  }
  const repository = githubRepository(labels.source, githubWebUrl)
  if (repository === null) {
    return {
      problem: `its org.opencontainers.image.source, ${shorten(labels.source)}, is not a repository on ${new URL(githubWebUrl).host}`,
    }
  }
  const sha = labels.revision.trim().toLowerCase()
  if (!COMMIT_SHA.test(sha)) {
    return {
      problem: `its org.opencontainers.image.revision, ${shorten(labels.revision)}, is not a commit SHA (40 hex digits)`,
    }
  }
  return { repository, sha, from }
}

/**
 * `owner/name` of a repository URL on that GitHub: https://github.com/acme/app(.git),
 * git@github.com:acme/app.git, git+https://…, or github.com/acme/app without a scheme.
 */
export function githubRepository(source: string, githubWebUrl: string): string | null {
  const host = new URL(githubWebUrl).host.toLowerCase().replace(/\./g, '\\.')
  const pattern = new RegExp(
    `^(?:(?:git\\+)?https?://(?:[^@/]+@)?|ssh://git@|git@)?${host}[/:](${OWNER})/(${NAME}?)(?:\\.git)?/?$`,
    'i',
  )
  const match = pattern.exec(source.trim())
  if (!match?.[1] || !match[2]) return null
  const name = match[2].replace(/\.git$/i, '')
  return name === '' || name === '.' || name === '..' ? null : `${match[1]}/${name}`
}

function shorten(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text)
}
