import { sendRequest } from '../http-request.js'
import type { StartSettings } from '../settings.js'
import { USER_AGENT } from '../version.js'
import { UnexpectedAnswerError } from './chain-run.js'
import { attemptCount, type Connection, outcomeOf } from './relay-api.js'
import { exchange, retrying } from './retry-loop.js'

/**
 * The job's OIDC token for `audience`, asked of the runner as @actions/core's getIDToken asks
 * (which would bring @actions/http-client and undici into the bundle).
 */
export async function fetchIdToken(
  request: StartSettings['idToken'],
  connection: Connection,
): Promise<string> {
  let url: URL
  try {
    url = new URL(`${request.requestUrl}&audience=${encodeURIComponent(request.audience)}`)
  } catch {
    throw new Error('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: is this step run by a runner?')
  }
  const what = 'get the job’s OIDC token from the runner'
  const result = await retrying(
    () =>
      exchange(
        () =>
          sendRequest(url, {
            method: 'GET',
            headers: {
              authorization: `Bearer ${request.requestToken}`,
              accept: 'application/json',
              'user-agent': USER_AGENT,
            },
            timeoutMs: connection.timeoutMs,
          }),
        (answer) => outcomeOf(answer, { what, read: tokenOf }),
      ),
    { ...connection, attempts: connection.retries + 1 },
  )
  if (!result.ok) {
    throw new Error(`Could not ${what} after ${attemptCount(result.attempts)}: ${result.message}`)
  }
  return result.value
}

function tokenOf(json: unknown): string {
  const value =
    typeof json === 'object' && json !== null ? (json as Record<string, unknown>).value : undefined
  if (typeof value !== 'string' || value === '') {
    throw new UnexpectedAnswerError('there is no token ("value")')
  }
  return value
}
