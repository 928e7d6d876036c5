import { STATUS_CODES } from 'node:http'
import type { Verdict } from './attempt.js'
import { formatSeconds } from './github-answer.js'
import type { PostAnswer, PostError } from './json-post.js'
import { parseRetryAfter } from './retry-after.js'

/** Who was called, as the messages name it: `the webhook receiver`, `the registry`. */
export interface Receiver {
  who: string
  /** What to check when it refuses: `the step's webhook url and secret`. */
  fix: string
}

/** How the answer of a webhook receiver or a registry counts. Pure. */
export function judgeReceiverAnswer(
  answer: Pick<PostAnswer, 'status' | 'headers' | 'body'>,
  receiver: Receiver,
  now: Date,
): Verdict {
  const { status } = answer
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  const said = `${receiver.who} answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd()
  if (status >= 300 && status < 400) {
    const location = header(answer.headers.location)
    return {
      kind: 'failed',
      error: `${said}${location ? ` with Location ${location}` : ''}; redirects are not followed: use the final URL`,
    }
  }
  const snippet = bodySnippet(answer.body)
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(header(answer.headers['retry-after']), now)
    const when = retryAfterMs === null ? 'later' : `in ${formatSeconds(retryAfterMs)}`
    return { kind: 'retry', error: `${said}${snippet}; trying again ${when}`, retryAfterMs }
  }
  return { kind: 'failed', error: `${said}${snippet}: check ${receiver.fix}` }
}

/** The verdict when no answer came. A refused address is final; the rest may pass. */
export function judgeNoAnswer(error: PostError, receiver: Receiver, timeoutMs: number): Verdict {
  switch (error.reason) {
    case 'refused':
      return { kind: 'failed', error: error.message }
    case 'timeout':
      return {
        kind: 'retry',
        error: `${receiver.who} did not answer within ${formatSeconds(timeoutMs)}`,
        retryAfterMs: null,
      }
    case 'network':
      return {
        kind: 'retry',
        error: `could not reach ${receiver.who}: ${error.message}`,
        retryAfterMs: null,
      }
  }
}

function header(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null
}

/** The start of a body, for a message: `: "invalid signature"`. */
function bodySnippet(body: Buffer): string {
  const text = body.subarray(0, 300).toString('utf8').replace(/\s+/g, ' ').trim()
  if (!text) return ''
  return ` ("${text.length > 200 ? `${text.slice(0, 200)}…` : text}")`
}
