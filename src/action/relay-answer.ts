import { isRetryableStatus, retryAfterMs } from './retry-policy.js'
import { truncate } from './truncate.js'

/** An HTTP answer, reduced to what the Action looks at. */
export interface HttpAnswer {
  status: number
  statusText: string
  header(name: string): string | null
  body: string
}

export type AnswerOutcome =
  | { kind: 'delivered'; status: number; chainState: string; runUrl: string }
  /** Sending the same callback again would not help: 3xx and 4xx other than 429. */
  | { kind: 'rejected'; message: string }
  | { kind: 'retry'; message: string; retryAfterMs: number | null }

const SNIPPET_MAX = 200

/** What to make of the relay's answer to one attempt. */
export function classifyAnswer(answer: HttpAnswer, now: number = Date.now()): AnswerOutcome {
  const { status } = answer
  if (status >= 200 && status < 300)
    return { kind: 'delivered', status, chainState: chainStateOf(answer), runUrl: runUrlOf(answer) }
  const statusLine = `HTTP ${status}${answer.statusText ? ` ${answer.statusText}` : ''}`
  if (status >= 300 && status < 400) {
    const location = answer.header('location')
    const target = location ? ` to ${location}` : ''
    return {
      kind: 'rejected',
      message:
        `The relay answered ${statusLine}, a redirect${target}, which the Action does not follow. ` +
        'Set callback-url to the URL the relay handed out.',
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
  return { kind: 'rejected', message: `The relay rejected the callback with ${explained}` }
}

/**
 * The chain's state as the relay reports it: `run.state` of `{ run: {...}, step: {...} }`, or
 * a top-level `state`; empty when the answer has neither.
 */
export function chainStateOf(answer: HttpAnswer): string {
  const body = parseJson(answer)
  const run = field(body, 'run')
  const state = field(run, 'state') ?? field(body, 'state')
  return typeof state === 'string' ? state : ''
}

/** The run's page on the relay, as its answer gives it (`run_url`); empty when it gives none. */
export function runUrlOf(answer: HttpAnswer): string {
  const url = field(parseJson(answer), 'run_url')
  return typeof url === 'string' && /^https?:\/\/\S+$/i.test(url) ? url : ''
}

/** The relay's own words: a problem+json `detail`, else its `title`, else the start of the body. */
export function relayErrorOf(answer: HttpAnswer): string {
  const problem = parseJson(answer)
  for (const name of ['detail', 'title']) {
    const text = field(problem, name)
    if (typeof text === 'string' && text.trim() !== '') return text.trim()
  }
  return truncate(answer.body.replace(/\s+/g, ' ').trim(), SNIPPET_MAX)
}

function parseJson(answer: HttpAnswer): unknown {
  const type = answer.header('content-type') ?? ''
  if (!/[/+]json\b/i.test(type)) return null
  try {
    return JSON.parse(answer.body)
  } catch {
    return null
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined
}
