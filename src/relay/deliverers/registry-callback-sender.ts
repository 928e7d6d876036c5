import { type Callback, formatProblems, validateCallback } from '../../shared/callback.js'
import { redactUrl } from '../../shared/redaction.js'
import { type DeliveryOutcome, startAttempt, toOutcome } from './attempt.js'
import {
  type CallbackPolicy,
  checkRegistryCallbackUrl,
  createPublicOnlyLookup,
} from './outbound-address.js'
import type { Receiver } from './receiver-answer.js'
import { postToReceiver } from './receiver-post.js'

export interface RegistryCallbackSenderOptions extends CallbackPolicy {
  /** For the whole exchange; a registry that does not answer in time ends the delivery as `retry`. Default 10 s. */
  timeoutMs?: number
  /** Answer body bytes read at most. Default 64 KiB. */
  maxResponseBytes?: number
  userAgent?: string
  now?: () => Date
}

export interface RegistryCallbackSender {
  /** POSTs the run's result to a registry's own callback_url, if the policy allows it; never throws. */
  send(url: string, callback: Callback): Promise<DeliveryOutcome>
}

const RECEIVER: Receiver = {
  who: 'the registry',
  fix: "the registry's callback_url (it may have expired or been used already)",
}

/**
 * Tells a registry how a run ended (Docker Hub's callback validation). The URL comes from the
 * registry's event, so it is called only on an allowed host, over https unless allowed otherwise,
 * and only at a public address, unless the host is an IP address listed as allowed.
 */
export function createRegistryCallbackSender(
  options: RegistryCallbackSenderOptions,
): RegistryCallbackSender {
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024
  const now = options.now ?? (() => new Date())
  const publicOnly = createPublicOnlyLookup()

  return {
    async send(url, callback) {
      const target = redactUrl(url)
      const valid = validateCallback(callback)
      if (!valid.ok) {
        return {
          kind: 'failed',
          attempts: [],
          error: `the run's result is not a valid callback: ${formatProblems(valid.problems)}`,
        }
      }
      const check = checkRegistryCallbackUrl(url, options)
      if (!check.ok)
        return { kind: 'failed', attempts: [], error: `not sent to ${target}: ${check.reason}` }

      const attempt = startAttempt(now)
      const { verdict, status } = await postToReceiver(
        check.url,
        JSON.stringify(valid.value),
        {
          headers: { 'user-agent': options.userAgent ?? 'hookchain-relay' },
          timeoutMs,
          maxResponseBytes,
          ...(check.listedAddress ? {} : { lookup: publicOnly }),
        },
        RECEIVER,
        now,
      )
      const record = attempt.finish({
        target,
        request: { method: 'POST', url: target, body: valid.value },
        status,
        error: verdict.kind === 'delivered' ? null : verdict.error,
      })
      return toOutcome(verdict, [record])
    },
  }
}
