import { createPrivateKey } from 'node:crypto'
import { createAppAuth } from '@octokit/auth-app'
import { Octokit } from '@octokit/rest'
import { getErrorMessage } from '../../shared/errors.js'
import { redactCallbackUrls, redactUrl } from '../../shared/redaction.js'
import type { GitHubAuth, GitHubSettings } from '../config/settings.js'
import type { AttemptRecord } from '../model/attempt.js'
import { type DeliveryOutcome, startAttempt, toOutcome, type Verdict } from './attempt.js'
import { checkDispatchRequest } from './client-payload.js'
import {
  type GitHubCall,
  judgeGitHubAnswer,
  judgeNoAnswer,
  timeoutMessage,
} from './github-answer.js'

export interface GitHubDispatcherOptions {
  github: GitHubSettings
  /** Per HTTP request; a GitHub that does not answer in time ends the delivery as `retry`. Default 10 s. */
  timeoutMs?: number
  userAgent?: string
  /** Told the rate limit left after every answer that carries it. */
  onRateLimit?: (remaining: number, resetAt: Date) => void
  /** Octokit's own warnings (deprecations, token replication retries). Default: console. */
  log?: { warn(message: string): void }
}

/** A commit status, as `POST /repos/{owner}/{repo}/statuses/{sha}` takes it. */
export interface CommitStatusBody {
  state: 'pending' | 'success' | 'failure' | 'error'
  context: string
  description: string
  target_url: string
}

export interface GitHubDispatcher {
  /** Sends one `repository_dispatch` to `owner/name`; never throws. */
  dispatch(repository: string, eventType: string, clientPayload: object): Promise<DeliveryOutcome>
  /** Sets one commit status on `sha` of `owner/name`; never throws. */
  commitStatus(repository: string, sha: string, status: CommitStatusBody): Promise<DeliveryOutcome>
}

const REPOSITORY = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/
const NO_CREDENTIALS = 'no GitHub credentials: set github.token or github.app in the relay config'

/*
 * No @octokit/plugin-throttling and no @octokit/plugin-retry: every request either schedules
 * passes through Bottleneck, whose datastore yields to the event loop with timers. Throttling
 * added about 14 ms to each dispatch, retry about 5 ms (of a budget of 10 ms from event to
 * dispatch). What they do is done here already, durably: an answer worth retrying (a 5xx, a
 * network error, a timeout) or a rate-limited one becomes a `retry`, which the outbox tries again
 * with capped exponential backoff and jitter, or at GitHub's Retry-After or reset time, without
 * holding a lease; writes are paced by the relay's WritePacer.
 */

/**
 * Builds the dispatcher. Each delivery gets its own Octokit, built by `buildOctokit` alone and
 * sharing the installation-token cache, so that every HTTP request it makes (retries and token
 * requests included) is recorded against that delivery and no other.
 */
export function createGitHubDispatcher(options: GitHubDispatcherOptions): GitHubDispatcher {
  const { github } = options
  const timeoutMs = options.timeoutMs ?? 10_000
  const shared: SharedState = {
    tokenCache: createTokenCache(),
  }
  const keyProblem = github.auth?.kind === 'app' ? privateKeyProblem(github.auth.privateKey) : null

  /** Sends one write with a recording Octokit of its own; the error says what was attempted. */
  async function write(
    repository: string,
    call: (octokit: Octokit, owner: string, repo: string) => Promise<unknown>,
    failure: string,
    kind: 'dispatch' | { sha: string },
  ): Promise<DeliveryOutcome> {
    const auth = github.auth
    if (!auth) return { kind: 'failed', attempts: [], error: NO_CREDENTIALS }
    const name = REPOSITORY.exec(repository)
    if (!name?.[1] || !name[2]) {
      return {
        kind: 'failed',
        attempts: [],
        error: `${failure}: ${repository} is not a repository as owner/name`,
      }
    }
    if (keyProblem) return { kind: 'failed', attempts: [], error: keyProblem }
    const recorder = createRecorder({
      apiUrl: github.apiUrl,
      auth,
      repository,
      sha: kind === 'dispatch' ? null : kind.sha,
      timeoutMs,
      onRateLimit: options.onRateLimit,
    })
    const octokit = buildOctokit(auth, shared, recorder.fetch, options)
    try {
      await call(octokit, name[1], name[2])
      return { kind: 'delivered', attempts: recorder.attempts }
    } catch (error) {
      const last = recorder.lastVerdict()
      if (last && last.kind !== 'delivered') return toOutcome(last, recorder.attempts)
      return {
        kind: 'failed',
        attempts: recorder.attempts,
        error: `${failure}: ${getErrorMessage(error)}`,
      }
    }
  }

  return {
    commitStatus(repository, sha, status) {
      return write(
        repository,
        (octokit, owner, repo) =>
          octokit.rest.repos.createCommitStatus({ owner, repo, sha, ...status }),
        `could not set the commit status ${status.context} on ${repository}@${sha.slice(0, 12)}`,
        { sha },
      )
    },

    async dispatch(repository, eventType, clientPayload) {
      if (!github.auth) return { kind: 'failed', attempts: [], error: NO_CREDENTIALS }
      const name = REPOSITORY.exec(repository)
      if (!name?.[1] || !name[2]) {
        return {
          kind: 'failed',
          attempts: [],
          error: `a dispatch step needs a repository as owner/name, not "${repository}"`,
        }
      }
      if (keyProblem) return { kind: 'failed', attempts: [], error: keyProblem }
      const overLimits = checkDispatchRequest(eventType, clientPayload)
      if (overLimits) {
        return { kind: 'failed', attempts: [], error: `not sent to ${repository}: ${overLimits}` }
      }

      return write(
        repository,
        (octokit, owner, repo) =>
          octokit.rest.repos.createDispatchEvent({
            owner,
            repo,
            event_type: eventType,
            client_payload: clientPayload as Record<string, unknown>,
          }),
        `could not dispatch to ${repository}`,
        'dispatch',
      )
    },
  }
}

/** What the deliveries of one dispatcher share. */
interface SharedState {
  tokenCache: ReturnType<typeof createTokenCache>
}

/** The one place an Octokit is configured. */
function buildOctokit(
  auth: GitHubAuth,
  { tokenCache }: SharedState,
  fetch: typeof globalThis.fetch,
  options: GitHubDispatcherOptions,
): Octokit {
  const authOptions =
    auth.kind === 'token'
      ? { auth: auth.token }
      : {
          authStrategy: createAppAuth,
          auth: {
            appId: auth.appId,
            privateKey: auth.privateKey,
            installationId: auth.installationId,
            cache: tokenCache,
          },
        }
  return new Octokit({
    ...authOptions,
    baseUrl: options.github.apiUrl.replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'hookchain-relay',
    request: { fetch },
    // Octokit's info and error lines repeat what the attempt records already say.
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => (options.log ?? console).warn(message),
      error: () => {},
    },
  })
}

interface RecorderOptions {
  apiUrl: string
  auth: GitHubAuth
  repository: string
  /** The commit of a commit status; null for a dispatch. */
  sha: string | null
  timeoutMs: number
  onRateLimit: GitHubDispatcherOptions['onRateLimit']
}

/** A `fetch` for one delivery that times and records every request and judges every answer. */
function createRecorder({
  apiUrl,
  auth,
  repository,
  sha,
  timeoutMs,
  onRateLimit,
}: RecorderOptions) {
  const attempts: AttemptRecord[] = []
  let last: Verdict | null = null

  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    const call = callOf(url, repository, sha, auth)
    const target =
      call.kind === 'dispatch'
        ? repository
        : call.kind === 'commit-status'
          ? `${repository}@${call.sha}`
          : redactUrl(url)
    const request = {
      method: init?.method ?? 'GET',
      url: redactUrl(url),
      ...(typeof init?.body === 'string' ? { body: redactCallbackUrls(parseJson(init.body)) } : {}),
    }
    const attempt = startAttempt()
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    let response: Response
    try {
      response = await globalThis.fetch(input, { ...init, signal })
    } catch (error) {
      if (timeout.aborted) {
        const message = timeoutMessage(timeoutMs)
        last = { kind: 'retry', error: message, retryAfterMs: null }
        attempts.push(attempt.finish({ target, request, status: null, error: message }))
        throw new DOMException(message, 'AbortError')
      }
      const verdict = judgeNoAnswer(apiUrl, networkReason(error))
      last = verdict
      attempts.push(attempt.finish({ target, request, status: null, error: verdict.error }))
      throw error
    }
    const headers = Object.fromEntries(response.headers)
    reportRateLimit(headers, onRateLimit)
    const body = response.ok ? null : await readErrorBody(response)
    last = judgeGitHubAnswer(
      { status: response.status, headers, message: body?.message ?? null, errors: body?.errors },
      call,
      new Date(),
    )
    attempts.push(
      attempt.finish({
        target,
        request,
        status: response.status,
        error: last.kind === 'delivered' ? null : last.error,
      }),
    )
    return response
  }
  return { fetch, attempts, lastVerdict: () => last }
}

function callOf(url: string, repository: string, sha: string | null, auth: GitHubAuth): GitHubCall {
  const path = new URL(url).pathname
  if (/\/repos\/[^/]+\/[^/]+\/dispatches$/.test(path)) {
    return { kind: 'dispatch', repository, credentials: auth.kind }
  }
  if (sha !== null && /\/repos\/[^/]+\/[^/]+\/statuses\/[^/]+$/.test(path)) {
    return { kind: 'commit-status', repository, sha, credentials: auth.kind }
  }
  if (auth.kind === 'app' && /\/app\/installations\/[^/]+\/access_tokens$/.test(path)) {
    return { kind: 'installation-token', installationId: auth.installationId, appId: auth.appId }
  }
  return { kind: 'other', description: path }
}

function reportRateLimit(
  headers: Record<string, string>,
  onRateLimit: GitHubDispatcherOptions['onRateLimit'],
): void {
  const remaining = Number(headers['x-ratelimit-remaining'])
  const reset = Number(headers['x-ratelimit-reset'])
  if (!onRateLimit || !headers['x-ratelimit-remaining'] || !Number.isFinite(remaining)) return
  if (!headers['x-ratelimit-reset'] || !Number.isFinite(reset)) return
  onRateLimit(remaining, new Date(reset * 1000))
}

/** GitHub's `{message, errors}`, read from a copy so that Octokit still gets the body. */
async function readErrorBody(
  response: Response,
): Promise<{ message: string | null; errors?: unknown }> {
  const text = await response
    .clone()
    .text()
    .catch(() => '')
  const parsed = parseJson(text)
  if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
    const { message, errors } = parsed as { message: unknown; errors?: unknown }
    return { message: typeof message === 'string' ? message : null, errors }
  }
  const snippet = text.trim().slice(0, 200)
  return { message: snippet || null }
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  return getErrorMessage(cause ?? error)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Why the GitHub App's private key cannot sign a JWT, or null. */
function privateKeyProblem(privateKey: string): string | null {
  try {
    // auth-app accepts a key whose line breaks were escaped as \n (environment variables).
    createPrivateKey(privateKey.replace(/\\n/g, '\n'))
    return null
  } catch (error) {
    return `the GitHub App private key cannot be read (${getErrorMessage(error)}): github.app.private_key_file must hold the PEM key GitHub generated for the app`
  }
}

/** Installation tokens live an hour; keep them a little less. auth-app reads '' as a miss. */
function createTokenCache(now = () => Date.now()) {
  const entries = new Map<string, { value: string; until: number }>()
  return {
    get(key: string): string {
      const entry = entries.get(key)
      if (entry && entry.until > now()) return entry.value
      entries.delete(key)
      return ''
    },
    set(key: string, value: string): void {
      entries.set(key, { value, until: now() + 59 * 60_000 })
    },
  }
}
