import type { Callback } from '../shared/callback.js'
import { formatSeconds, NoAnswerError, postJson } from './http-request.js'
import { type AnswerOutcome, classifyAnswer } from './relay-answer.js'
import { backoffDelay } from './retry-policy.js'

export interface DeliveryOptions {
  /** Per attempt. */
  timeoutMs: number
  /** Retries after the first attempt, on network errors, timeouts, 5xx and 429. */
  retries: number
  /** See `backoffDelay`. */
  backoffMs: number
  userAgent: string
  log: (message: string) => void
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

export interface Delivery {
  status: number
  /** The run's state as the relay answered it; empty when it did not say. */
  chainState: string
  /** The run's page on the relay, as it answered; empty when it did not say. */
  runUrl: string
  attempts: number
}

/** The relay refused the callback (3xx, 4xx): sending it again would not help. */
export class CallbackRejectedError extends Error {
  override name = 'CallbackRejectedError'
}

/** Every attempt met a network error, a timeout, a 5xx or a 429. */
export class CallbackUndeliveredError extends Error {
  override name = 'CallbackUndeliveredError'
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** POSTs the callback, retrying what may pass with capped exponential backoff and jitter. */
export async function sendCallback(
  url: URL,
  callback: Callback,
  options: DeliveryOptions,
): Promise<Delivery> {
  const { retries, log, sleep = defaultSleep, random = Math.random } = options
  const body = JSON.stringify(callback)
  const attempts = retries + 1
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptDelivery(url, body, options)
    if (outcome.kind === 'delivered') {
      return {
        status: outcome.status,
        chainState: outcome.chainState,
        runUrl: outcome.runUrl,
        attempts: attempt,
      }
    }
    if (outcome.kind === 'rejected') throw new CallbackRejectedError(outcome.message)
    if (attempt >= attempts) {
      const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`
      throw new CallbackUndeliveredError(
        `The relay at ${url.origin} did not take the callback after ${tries}: ${outcome.message}`,
      )
    }
    const delay = outcome.retryAfterMs ?? backoffDelay(attempt - 1, options.backoffMs, random)
    log(
      `Attempt ${attempt} of ${attempts}: ${outcome.message}; retrying in ${formatSeconds(delay)}.`,
    )
    await sleep(delay)
  }
}

async function attemptDelivery(
  url: URL,
  body: string,
  options: DeliveryOptions,
): Promise<AnswerOutcome> {
  try {
    const answer = await postJson(url, body, { 'user-agent': options.userAgent }, options.timeoutMs)
    return classifyAnswer(answer)
  } catch (error) {
    if (error instanceof NoAnswerError) {
      return { kind: 'retry', message: error.message, retryAfterMs: null }
    }
    throw error
  }
}
