import { createHash } from 'node:crypto'
import { Webhook } from 'standardwebhooks'

/**
 * The Standard Webhooks signer for a step's `secret`. A `whsec_…` secret is used as Standard
 * Webhooks defines it (base64 after the prefix); any other string is used as its UTF-8 bytes.
 * A receiver verifies with the same key:
 *   new Webhook(secret)                                         // whsec_… secrets
 *   new Webhook('whsec_' + Buffer.from(secret).toString('base64'))   // any other secret
 * (equivalently `new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' })`).
 */
export function webhookSigner(secret: string): Webhook {
  if (secret.startsWith('whsec_')) {
    try {
      return new Webhook(secret)
    } catch (error) {
      throw new Error(
        `the webhook secret starts with whsec_ but the rest is not base64 (${error instanceof Error ? error.message : String(error)}); use a whsec_ secret as generated, or any secret without that prefix`,
      )
    }
  }
  return new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' })
}

export interface SignatureHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature'?: string
}

/** `webhook-id`, `webhook-timestamp` and (with a secret) `webhook-signature` for one message. */
export function signatureHeaders(
  signer: Webhook | null,
  messageId: string,
  body: string,
  now: Date,
): SignatureHeaders {
  const headers: SignatureHeaders = {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
  }
  if (signer) headers['webhook-signature'] = signer.sign(messageId, now, body)
  return headers
}

/** A message id from the parts that make a step's message the same message: `msg_…`. */
export function messageIdOf(...parts: string[]): string {
  return `msg_${createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 27)}`
}
