import { getErrorMessage } from '../../shared/errors.js'
import type { Verdict } from './attempt.js'
import { PostError, type PostOptions, postJson } from './json-post.js'
import { judgeNoAnswer, judgeReceiverAnswer, type Receiver } from './receiver-answer.js'

/** Posts to a webhook receiver or a registry and judges what came back; never throws. */
export async function postToReceiver(
  url: URL,
  body: string,
  options: PostOptions,
  receiver: Receiver,
  now: () => Date,
): Promise<{ verdict: Verdict; status: number | null }> {
  try {
    const answer = await postJson(url, body, options)
    return { verdict: judgeReceiverAnswer(answer, receiver, now()), status: answer.status }
  } catch (error) {
    const verdict: Verdict =
      error instanceof PostError
        ? judgeNoAnswer(error, receiver, options.timeoutMs)
        : { kind: 'retry', error: getErrorMessage(error), retryAfterMs: null }
    return { verdict, status: null }
  }
}
