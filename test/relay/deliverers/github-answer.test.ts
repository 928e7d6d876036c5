import { describe, expect, it } from 'vitest'
import { type GitHubCall, judgeGitHubAnswer } from '../../../src/relay/deliverers/github-answer.js'

const now = new Date('2026-11-26T12:00:00Z')
const dispatch: GitHubCall = { kind: 'dispatch', repository: 'acme/deploy', credentials: 'token' }
const appDispatch: GitHubCall = { ...dispatch, credentials: 'app' }
const token: GitHubCall = { kind: 'installation-token', installationId: 42, appId: '1234' }

function answer(
  status: number,
  message: string | null = null,
  headers: Record<string, string> = {},
) {
  return { status, message, headers }
}

describe('judgeGitHubAnswer', () => {
  it.each([200, 201, 204])('counts %i as delivered', (status) => {
    expect(judgeGitHubAnswer(answer(status), dispatch, now)).toEqual({ kind: 'delivered' })
  })

  it.each([
    [answer(500), null],
    [answer(503, null, { 'retry-after': '7' }), 7000],
    [answer(429), null],
    [answer(429, 'slow down', { 'retry-after': '30' }), 30_000],
    [answer(403, 'You have exceeded a secondary rate limit'), 60_000],
    [answer(403, 'Forbidden', { 'retry-after': '45' }), 45_000],
    [
      answer(403, 'API rate limit exceeded', {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(now.getTime() / 1000 + 300),
      }),
      300_000,
    ],
  ])('asks for a retry on %o after %s ms', (given, retryAfterMs) => {
    expect(judgeGitHubAnswer(given, dispatch, now)).toMatchObject({ kind: 'retry', retryAfterMs })
  })

  it.each([
    [
      answer(401, 'Bad credentials'),
      dispatch,
      'GitHub answered 401 Unauthorized ("Bad credentials"): the token is invalid or expired; set a valid github.token in the relay config',
    ],
    [
      answer(401, 'Bad credentials'),
      appDispatch,
      'GitHub answered 401 Unauthorized ("Bad credentials"): the installation token was refused; check github.app (app_id, private_key_file, installation_id)',
    ],
    [
      answer(403, 'Resource not accessible by integration'),
      appDispatch,
      'GitHub answered 403 Forbidden ("Resource not accessible by integration"): the GitHub App installation may not dispatch to acme/deploy; it needs contents: write on that repository (classic tokens: the repo scope)',
    ],
    [
      answer(404, 'Not Found'),
      dispatch,
      'GitHub answered 404 Not Found ("Not Found"): the repository acme/deploy does not exist or the token cannot see it (needs contents: write)',
    ],
    [
      answer(404, 'Not Found'),
      token,
      'GitHub answered 404 Not Found ("Not Found"): installation 42 does not exist or does not belong to GitHub App 1234; check github.app.installation_id',
    ],
    [
      answer(403, 'This installation has been suspended'),
      token,
      'GitHub answered 403 Forbidden ("This installation has been suspended"): GitHub App 1234 may not get a token for installation 42; the installation may be suspended',
    ],
    [
      answer(400),
      dispatch,
      'GitHub answered 400 Bad Request: GitHub refused the dispatch to acme/deploy',
    ],
  ])('ends on %o (%o)', (given, call, error) => {
    expect(judgeGitHubAnswer(given, call, now)).toEqual({ kind: 'failed', error })
  })
})
