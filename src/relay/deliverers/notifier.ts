import { redactUrl } from '../../shared/redaction.js'
import type { NotifyTarget } from '../config/settings.js'
import type { Notification } from '../runs/notification.js'
import { type DeliveryOutcome, startAttempt, toOutcome } from './attempt.js'
import type { Receiver } from './receiver-answer.js'
import { postToReceiver } from './receiver-post.js'
import { messageIdOf, signatureHeaders, webhookSigner } from './webhook-signature.js'

export interface NotifierOptions {
  timeoutMs?: number
  maxResponseBytes?: number
  userAgent?: string
  now?: () => Date
}

export interface Notifier {
  /** Sends one notification to one target; never throws. */
  send(target: NotifyTarget, notification: Notification): Promise<DeliveryOutcome>
}

const RECEIVER: Receiver = {
  who: 'the notification target',
  fix: "the notify target's URL (and secret) in the chain",
}

/** Slack, Teams and Discord webhooks, and signed JSON webhooks. */
export function createNotifier(options: NotifierOptions = {}): Notifier {
  const now = options.now ?? (() => new Date())
  return {
    async send(target, notification) {
      const shown = redactUrl(target.url)
      let url: URL
      try {
        url = new URL(target.url)
      } catch {
        return {
          kind: 'failed',
          attempts: [],
          error: `the notify target's URL is not a URL: ${shown}`,
        }
      }
      const body = JSON.stringify(bodyFor(target, notification))
      let headers: Record<string, string> = { 'user-agent': options.userAgent ?? 'hookchain-relay' }
      if (target.kind === 'webhook') {
        const { runId, attempt, event, step } = notification
        const id = messageIdOf(runId, String(attempt), event, ...(step ? [String(step)] : []))
        try {
          const signer = target.secret ? webhookSigner(target.secret) : null
          headers = { ...headers, ...signatureHeaders(signer, id, body, now()) }
        } catch (error) {
          return { kind: 'failed', attempts: [], error: (error as Error).message }
        }
      }
      const attempt = startAttempt(now)
      const { verdict, status } = await postToReceiver(
        url,
        body,
        {
          headers,
          timeoutMs: options.timeoutMs ?? 10_000,
          maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
        },
        RECEIVER,
        now,
      )
      const record = attempt.finish({
        target: shown,
        request: { method: 'POST', url: shown, kind: target.kind, event: notification.event },
        status,
        error: verdict.kind === 'delivered' ? null : verdict.error,
      })
      return toOutcome(verdict, [record])
    },
  }
}

/** Each service's own message format. */
export function bodyFor(target: NotifyTarget, n: Notification): unknown {
  const line = n.detail ? `${n.title}\n${n.detail}` : n.title
  switch (target.kind) {
    case 'slack':
      return {
        text: `${escapeSlack(n.title)}${n.detail ? `\n${escapeSlack(n.detail)}` : ''}\n<${n.url}|View the run>`,
        unfurl_links: false,
      }
    case 'discord':
      return {
        content: `${line}\n${n.url}`,
        // Text from a registry or a workflow must not ping anyone.
        allowed_mentions: { parse: [] },
      }
    case 'teams':
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              type: 'AdaptiveCard',
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: n.title, weight: 'Bolder', wrap: true },
                ...(n.detail ? [{ type: 'TextBlock', text: n.detail, wrap: true }] : []),
              ],
              actions: [{ type: 'Action.OpenUrl', title: 'View the run', url: n.url }],
            },
          },
        ],
      }
    case 'webhook':
      return {
        type: `hookchain.run.${n.event}`,
        run: { id: n.runId, chain: n.chain, attempt: n.attempt, url: n.url },
        image: n.image,
        title: n.title,
        detail: n.detail,
      }
  }
}

/** Slack's control characters in text: `&`, `<` and `>`. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}
