import { sendRequest } from '../http-request.js'
import { type HttpAnswer, relayErrorOf } from '../relay-answer.js'
import { isRetryableStatus, retryAfterMs } from '../retry-policy.js'
import type { StartSettings } from '../settings.js'
import { USER_AGENT } from '../version.js'
import {
  type ChainRun,
  parseRun,
  parseStartedRun,
  type StartedRun,
  UnexpectedAnswerError,
} from './chain-run.js'
import { type AttemptOutcome, exchange, retrying } from './retry-loop.js'

// The relay's side of start mode: POST /api/chains/<chain>/runs and GET /api/runs/<id>.

/** A run and its history can be large: keep all of it, up to this much. */
const MAX_RUN_BYTES = 32 * 1024 * 1024

/** The relay (or the runner) refused the request: sending it again would not help. */
export class RequestRefusedError extends Error {
  override name = 'RequestRefusedError'
}

export interface Connection {
  timeoutMs: number
  retries: number
  backoffMs: number
  log: (message: string) => void
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

/** Starts the chain for the image, as this run's repository and commit, with the job's OIDC token. */
export async function startRun(
  settings: StartSettings,
  idToken: string,
  connection: Connection,
): Promise<StartedRun> {
  const url = endpoint(settings.relayUrl, `/api/chains/${encodeURIComponent(settings.chain)}/runs`)
  const body = JSON.stringify({ image: settings.image, source: settings.source })
  const what = `start chain "${settings.chain}"`
  const result = await retrying(
    () =>
      exchange(
        () =>
          sendRequest(url, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${idToken}`,
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
              accept: 'application/json',
              'user-agent': USER_AGENT,
            },
            body,
            timeoutMs: connection.timeoutMs,
            maxBodyBytes: MAX_RUN_BYTES,
          }),
        (answer) =>
          outcomeOf(answer, {
            what,
            read: parseStartedRun,
            refusalHint: refusalHint(settings, answer),
            unexpectedHint: NOT_A_RELAY,
          }),
      ),
    { ...connection, attempts: connection.retries + 1 },
  )
  if (!result.ok) {
    throw new Error(
      `Could not ${what} at ${url.origin} after ${attemptCount(result.attempts)}: ${result.message}`,
    )
  }
  return result.value
}

/** A new version of the run, or `null` when the relay held the request and nothing changed. */
export type Polled = { run: ChainRun; etag: string | null } | null

/**
 * One long poll: `GET /api/runs/<id>?wait=<seconds>`, answered when the run differs from the
 * version `etag` names, or when the wait ends. Network errors, 429 and 5xx are for the caller
 * to retry; any other refusal throws.
 */
export function pollRun(
  relayUrl: URL,
  run: { id: string; token: string },
  etag: string | null,
  waitSeconds: number,
  timeoutMs: number,
): Promise<AttemptOutcome<Polled>> {
  const url = endpoint(relayUrl, `/api/runs/${encodeURIComponent(run.id)}`)
  url.searchParams.set('wait', String(waitSeconds))
  const headers: Record<string, string> = {
    authorization: `Bearer ${run.token}`,
    accept: 'application/json',
    'user-agent': USER_AGENT,
  }
  if (etag !== null) headers['if-none-match'] = etag
  return exchange<Polled>(
    () =>
      sendRequest(url, {
        method: 'GET',
        headers,
        timeoutMs: waitSeconds * 1000 + timeoutMs,
        maxBodyBytes: MAX_RUN_BYTES,
      }),
    (answer) =>
      answer.status === 304
        ? { kind: 'done', value: null }
        : outcomeOf<Polled>(answer, {
            what: `read run ${run.id}`,
            read: (json) => ({ run: parseRun(json), etag: answer.header('etag') }),
            unexpectedHint: NOT_A_RELAY,
          }),
  )
}

export interface Reading<T> {
  /** What was asked, for messages: "start chain \"release\"". */
  what: string
  /** Reads the JSON of a 2xx answer; throws UnexpectedAnswerError when it is not what was asked. */
  read: (json: unknown) => T
  /** Added to the message of a refusal (4xx). */
  refusalHint?: string
  /** Added to the message when a 2xx answer is not what was asked. */
  unexpectedHint?: string
  now?: number
}

/**
 * A 2xx answer is read as JSON; 429 and 5xx are worth another try; anything else is refused,
 * in the relay's own words (its problem's `detail`).
 */
export function outcomeOf<T>(answer: HttpAnswer, reading: Reading<T>): AttemptOutcome<T> {
  const { what, refusalHint = '', unexpectedHint = '', now = Date.now() } = reading
  const { status } = answer
  const statusLine = `HTTP ${status}${answer.statusText ? ` ${answer.statusText}` : ''}`
  if (status >= 200 && status < 300) {
    let json: unknown
    try {
      json = JSON.parse(answer.body)
    } catch {
      throw new RequestRefusedError(
        `Could not ${what}: the answer (${statusLine}) is not JSON.${unexpectedHint}`,
      )
    }
    try {
      return { kind: 'done', value: reading.read(json) }
    } catch (error) {
      if (!(error instanceof UnexpectedAnswerError)) throw error
      throw new RequestRefusedError(
        `Could not ${what}: in the answer (${statusLine}), ${error.message}.${unexpectedHint}`,
      )
    }
  }
  const reason = relayErrorOf(answer)
  const explained = reason ? `${statusLine}: ${reason}` : statusLine
  if (isRetryableStatus(status)) {
    return {
      kind: 'retry',
      message: explained,
      retryAfterMs: retryAfterMs(answer.header('retry-after'), now),
    }
  }
  if (status >= 300 && status < 400) {
    const location = answer.header('location')
    throw new RequestRefusedError(
      `Could not ${what}: ${statusLine}, a redirect${location ? ` to ${location}` : ''}, which the Action does not follow.${unexpectedHint}`,
    )
  }
  throw new RequestRefusedError(`Could not ${what}: ${explained}${refusalHint}`)
}

const NOT_A_RELAY = ' Is relay-url the base URL of a hookchain relay?'

/** What the user may check when the relay does not take the token, which it cannot say itself. */
function refusalHint(settings: StartSettings, answer: HttpAnswer): string {
  if (answer.status !== 401) return ''
  return ` Check that the audience input ("${settings.idToken.audience}") equals the relay's github.oidc.audience.`
}

/** A path of the relay's API under its base URL, which may have a path of its own. */
export function endpoint(relayUrl: URL, path: string): URL {
  return new URL(`${relayUrl.href.replace(/\/+$/, '')}${path}`)
}

export function attemptCount(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`
}
