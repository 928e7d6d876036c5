import { getErrorMessage } from '../../shared/errors.js'
import { redactCallbackUrls, redactUrl } from '../../shared/redaction.js'
import { type DeliveryOutcome, startAttempt, toOutcome } from './attempt.js'
import type { Receiver } from './receiver-answer.js'
import { postToReceiver } from './receiver-post.js'
import type { WebhookPayload } from './webhook-payload.js'
import { messageIdOf, signatureHeaders, webhookSigner } from './webhook-signature.js'

export interface WebhookSenderOptions {
  /** For the whole exchange; a receiver that does not answer in time ends the delivery as `retry`. Default 10 s. */
  timeoutMs?: number
  /** Answer body bytes read at most. Default 64 KiB. */
  maxResponseBytes?: number
  userAgent?: string
  now?: () => Date
}

export interface WebhookSender {
  /**
   * POSTs the payload once, signed with Standard Webhooks headers when there is a secret; never
   * throws. `messageId` (`webhook-id`) should stay the same when the same step's message is sent
   * again; by default it is derived from the run, the step and the callback URL.
   */
  send(
    url: string,
    secret: string | null,
    payload: WebhookPayload,
    messageId?: string,
  ): Promise<DeliveryOutcome>
}

const RECEIVER: Receiver = { who: 'the webhook receiver', fix: "the step's webhook url and secret" }

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024
  const now = options.now ?? (() => new Date())

  return {
    async send(url, secret, payload, messageId) {
      const target = redactUrl(url)
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        return {
          kind: 'failed',
          attempts: [],
          error: `the step's webhook url is not an absolute URL: ${target}`,
        }
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
        return {
          kind: 'failed',
          attempts: [],
          error: `the step's webhook url must be http(s), not ${parsed.protocol}`,
        }
      }
      let signer: ReturnType<typeof webhookSigner> | null
      try {
        signer = secret ? webhookSigner(secret) : null
      } catch (error) {
        return { kind: 'failed', attempts: [], error: getErrorMessage(error) }
      }

      const body = JSON.stringify(payload)
      const id =
        messageId ??
        messageIdOf(payload.hookchain.run_id, String(payload.hookchain.step), payload.callback_url)
      const attempt = startAttempt(now)
      const headers = {
        'user-agent': options.userAgent ?? 'hookchain-relay',
        ...signatureHeaders(signer, id, body, now()),
      }
      const request = {
        method: 'POST',
        url: target,
        headers: {
          'webhook-id': headers['webhook-id'],
          'webhook-timestamp': headers['webhook-timestamp'],
          signed: signer !== null,
        },
        body: redactCallbackUrls(payload),
      }
      const { verdict, status } = await postToReceiver(
        parsed,
        body,
        { headers, timeoutMs, maxResponseBytes },
        RECEIVER,
        now,
      )
      const record = attempt.finish({
        target,
        request,
        status,
        error: verdict.kind === 'delivered' ? null : verdict.error,
      })
      return toOutcome(verdict, [record])
    },
  }
}
