import { formatSeconds, NoAnswerError } from '../http-request.js'
import type { HttpAnswer } from '../relay-answer.js'
import { backoffDelay } from '../retry-policy.js'

/** What one attempt came to: a value, or a reason to try again (after `retryAfterMs` if given). */
export type AttemptOutcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'retry'; message: string; retryAfterMs: number | null }

export interface RetryOptions {
  /** Attempts in all, the first included; `Infinity` to be bounded by `deadline` alone. */
  attempts: number
  /** When set, no attempt starts after this time (epoch ms). */
  deadline?: number
  /** See `backoffDelay`. */
  backoffMs: number
  log: (message: string) => void
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

export type Retried<T> =
  | { ok: true; value: T }
  /** Out of attempts or of time; `message` is the last attempt's reason. */
  | { ok: false; message: string; attempts: number }

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs `attempt` until it is done, with the Action's backoff (capped, with jitter, honouring
 * Retry-After) between attempts. An attempt that throws ends it at once.
 */
export async function retrying<T>(
  attempt: () => Promise<AttemptOutcome<T>>,
  options: RetryOptions,
): Promise<Retried<T>> {
  const { log, now = Date.now, sleep = defaultSleep, random = Math.random } = options
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  const of = Number.isFinite(options.attempts) ? ` of ${options.attempts}` : ''
  for (let n = 1; ; n++) {
    const outcome = await attempt()
    if (outcome.kind === 'done') return { ok: true, value: outcome.value }
    const delay = outcome.retryAfterMs ?? backoffDelay(n - 1, options.backoffMs, random)
    if (n >= options.attempts || now() + delay >= deadline) {
      return { ok: false, message: outcome.message, attempts: n }
    }
    log(`Attempt ${n}${of}: ${outcome.message}; retrying in ${formatSeconds(delay)}.`)
    await sleep(delay)
  }
}

/** Sends a request and reads its answer; no answer at all (a network error, a timeout) is retried. */
export async function exchange<T>(
  send: () => Promise<HttpAnswer>,
  read: (answer: HttpAnswer) => AttemptOutcome<T>,
): Promise<AttemptOutcome<T>> {
  let answer: HttpAnswer
  try {
    answer = await send()
  } catch (error) {
    if (error instanceof NoAnswerError) {
      return { kind: 'retry', message: error.message, retryAfterMs: null }
    }
    throw error
  }
  return read(answer)
}
