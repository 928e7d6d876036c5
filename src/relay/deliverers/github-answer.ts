import { STATUS_CODES } from 'node:http'
import type { Verdict } from './attempt.js'
import { parseRetryAfter } from './retry-after.js'

/** One answer from GitHub, as much of it as the verdict needs. */
export interface GitHubAnswer {
  status: number
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>
  /** GitHub's `message`, when the body had one. */
  message: string | null
  /** GitHub's `errors` (422), when the body had them. */
  errors?: unknown
}

/** What the request was for: the advice in an error depends on it. */
export type GitHubCall =
  | { kind: 'dispatch'; repository: string; credentials: 'token' | 'app' }
  | { kind: 'commit-status'; repository: string; sha: string; credentials: 'token' | 'app' }
  | { kind: 'installation-token'; installationId: number; appId: string }
  | { kind: 'other'; description: string }

/** GitHub asks for at least a minute when a secondary rate limit comes without a Retry-After. */
export const SECONDARY_RATE_LIMIT_WAIT_MS = 60_000

/** How a GitHub answer counts: delivered, worth a later retry, or final. Pure. */
export function judgeGitHubAnswer(answer: GitHubAnswer, call: GitHubCall, now: Date): Verdict {
  const { status } = answer
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  const said = `GitHub answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd()
  const quoted = answer.message ? ` ("${answer.message}")` : ''
  const rateLimit = rateLimitOf(answer, now)
  if ((status === 403 || status === 429) && rateLimit) {
    return {
      kind: 'retry',
      error: `${said}${quoted}: ${rateLimit.advice}`,
      retryAfterMs: rateLimit.retryAfterMs,
    }
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now)
    const when = retryAfterMs === null ? 'later' : `in ${formatSeconds(retryAfterMs)}`
    return { kind: 'retry', error: `${said}${quoted}; trying again ${when}`, retryAfterMs }
  }
  return {
    kind: 'failed',
    error: `${said}${quoted}${detailsOf(answer.errors)}: ${advice(status, call)}`,
  }
}

/** The verdict when GitHub sent no answer at all. */
export function judgeNoAnswer(apiUrl: string, reason: string): Verdict & { kind: 'retry' } {
  return {
    kind: 'retry',
    error: `could not reach GitHub at ${apiUrl}: ${reason}`,
    retryAfterMs: null,
  }
}

export function timeoutMessage(timeoutMs: number): string {
  return `GitHub did not answer within ${formatSeconds(timeoutMs)}`
}

/** `10 s`, `0.25 s`, `2 min`. */
export function formatSeconds(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`
  return `${Math.round(ms) / 1000} s`
}

function rateLimitOf(
  answer: GitHubAnswer,
  now: Date,
): { advice: string; retryAfterMs: number | null } | null {
  const retryAfter = parseRetryAfter(answer.headers['retry-after'], now)
  const secondary = /secondary rate limit/i.test(answer.message ?? '')
  if (secondary || retryAfter !== null) {
    const wait = retryAfter ?? SECONDARY_RATE_LIMIT_WAIT_MS
    return {
      advice: `GitHub's secondary rate limit; trying again in ${formatSeconds(wait)}. If this repeats, lower github.writes_per_minute`,
      retryAfterMs: wait,
    }
  }
  if (answer.headers['x-ratelimit-remaining'] === '0') {
    const reset = Number(answer.headers['x-ratelimit-reset'])
    const resetAt = Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000) : null
    return {
      advice: `the rate limit of these GitHub credentials is used up${resetAt ? ` until ${resetAt.toISOString()}` : ''}`,
      retryAfterMs: resetAt ? Math.max(0, resetAt.getTime() - now.getTime()) : null,
    }
  }
  return null
}

function advice(status: number, call: GitHubCall): string {
  switch (call.kind) {
    case 'dispatch':
      return dispatchAdvice(status, call.repository, call.credentials)
    case 'commit-status':
      return commitStatusAdvice(status, call.repository, call.sha, call.credentials)
    case 'installation-token':
      return installationTokenAdvice(status, call.installationId, call.appId)
    case 'other':
      return `GitHub refused ${call.description}`
  }
}

function dispatchAdvice(status: number, repository: string, credentials: 'token' | 'app'): string {
  const holder = credentials === 'app' ? 'the GitHub App installation' : 'the token'
  switch (status) {
    case 401:
      return credentials === 'app'
        ? 'the installation token was refused; check github.app (app_id, private_key_file, installation_id)'
        : 'the token is invalid or expired; set a valid github.token in the relay config'
    case 403:
      return `${holder} may not dispatch to ${repository}; it needs contents: write on that repository (classic tokens: the repo scope)`
    case 404:
      return `the repository ${repository} does not exist or ${holder} cannot see it (needs contents: write)`
    case 422:
      return `GitHub refused the dispatch to ${repository}; check the step's event_type (1 to 100 characters) and that client_payload has at most 10 keys and under 64 KB`
    default:
      return `GitHub refused the dispatch to ${repository}`
  }
}

function commitStatusAdvice(
  status: number,
  repository: string,
  sha: string,
  credentials: 'token' | 'app',
): string {
  const holder = credentials === 'app' ? 'the GitHub App installation' : 'the token'
  switch (status) {
    case 401:
      return credentials === 'app'
        ? 'the installation token was refused; check github.app (app_id, private_key_file, installation_id)'
        : 'the token is invalid or expired; set a valid github.token in the relay config'
    case 403:
      return `${holder} may not set commit statuses on ${repository}; it needs Commit statuses: write there (classic tokens: the repo:status scope)`
    case 404:
      return `${repository} does not exist or ${holder} cannot see it (it needs Commit statuses: write)`
    case 422:
      return `${repository} has no commit ${sha}, or GitHub refused the status; check the image's org.opencontainers.image.revision label, or the sha the run was started with`
    default:
      return `GitHub refused the commit status on ${repository}@${sha.slice(0, 12)}`
  }
}

function installationTokenAdvice(status: number, installationId: number, appId: string): string {
  switch (status) {
    case 401:
      return `GitHub refused the app's JWT; check that github.app.app_id (${appId}) and the private key belong to the same GitHub App, and that this machine's clock is right`
    case 403:
      return `GitHub App ${appId} may not get a token for installation ${installationId}; the installation may be suspended`
    case 404:
      return `installation ${installationId} does not exist or does not belong to GitHub App ${appId}; check github.app.installation_id`
    default:
      return `GitHub refused an installation token for installation ${installationId} of GitHub App ${appId}`
  }
}

function detailsOf(errors: unknown): string {
  if (!Array.isArray(errors) || errors.length === 0) return ''
  const parts = errors.map((e) => {
    if (typeof e === 'string') return e
    if (typeof e === 'object' && e !== null) {
      const { field, message, code } = e as Record<string, unknown>
      return [field, message ?? code].filter((part) => typeof part === 'string').join(' ')
    }
    return JSON.stringify(e)
  })
  return ` [${parts.join('; ')}]`
}
