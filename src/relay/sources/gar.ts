import type { JSONSchemaType } from 'ajv'
import { ISSUER_URL_MESSAGE, ISSUER_URL_PATTERN } from '../identity/issuer-url.js'
import { oidcVerifier } from '../identity/oidc-verifier.js'
import { TokenRejected } from '../identity/verification-errors.js'
import { bearerToken, singleHeader } from './headers.js'
import { checkRegistry, checkRepository, checkTag, isDigest } from './image-reference.js'
import { isObject } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { quoted, shown } from './reason-text.js'
import {
  type Authentication,
  type AuthRequest,
  type Normalised,
  type PushEvent,
  type Source,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from './types.js'

export interface GarSettings {
  /** The `aud` of every token: the subscription's push auth token audience. */
  audience: string
  /** The `email` of every token: the subscription's push auth service account. */
  serviceAccount: string
  issuer: string
}

export const GOOGLE_ISSUER = 'https://accounts.google.com'

/** The envelope of a Pub/Sub push subscription; `attributes` and `subscription` are not read. */
interface PubSubPush {
  message: {
    messageId: string
    data?: string | null
    publishTime?: string | null
  }
}

/** What Artifact Registry publishes to the `gcr` topic; `digest` and `tag` are full references. */
interface Notification {
  action: string
  digest?: string | null
  tag?: string | null
}

const envelope = payloadFormat<PubSubPush>(
  'a Pub/Sub push message ({"message": {"data", "messageId", "publishTime"}, "subscription"})',
  {
    type: 'object',
    required: ['message'],
    properties: {
      message: {
        type: 'object',
        required: ['messageId'],
        properties: {
          messageId: { type: 'string', minLength: 1, maxLength: 100 },
          data: { type: 'string', nullable: true, maxLength: 1024 * 1024 },
          publishTime: { type: 'string', nullable: true, maxLength: 64 },
        },
      },
    },
  },
)

const reference = { type: 'string', nullable: true, maxLength: 2048 } as const

const notificationSchema: JSONSchemaType<Notification> = {
  type: 'object',
  required: ['action'],
  properties: {
    action: { type: 'string', maxLength: 64 },
    digest: reference,
    tag: reference,
  },
}

const notification = payloadFormat(
  'an Artifact Registry notification in the message data',
  notificationSchema,
)

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const EMAIL = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'

/**
 * Google Artifact Registry (and Container Registry), through a Pub/Sub push subscription on the
 * `gcr` topic. Pub/Sub sends every message again until it gets a 2xx: a message that names no
 * push, or whose data could never be read, is recorded as ignored and answered 202. Only a body
 * that is not a Pub/Sub push envelope at all is refused (422), see docs/registries/gar.md.
 */
export const gar: Source<GarSettings> = {
  name: 'gar',
  title: 'Google Artifact Registry (Pub/Sub)',
  config: {
    schema: {
      description:
        "Artifact Registry notifications through a Pub/Sub push subscription: POST /hooks/gar with the subscription's OIDC token (`Authorization: Bearer <jwt>`).",
      properties: {
        audience: {
          type: 'string',
          title: 'Audience',
          description:
            "The subscription's --push-auth-token-audience (by default its push endpoint, <public_url>/hooks/gar): every token must be for it.",
          minLength: 1,
          maxLength: 2048,
        },
        service_account: {
          type: 'string',
          title: 'Service account',
          description:
            "The email of the subscription's --push-auth-service-account: every token must carry it, verified.",
          maxLength: 320,
          pattern: EMAIL,
          patternErrorMessage:
            'must be the email of a service account, like pubsub-push@acme-prod.iam.gserviceaccount.com',
        },
        issuer: {
          type: 'string',
          title: 'Issuer',
          description: `Who signs the tokens; its keys are found by OpenID discovery at <issuer>/.well-known/openid-configuration. ${GOOGLE_ISSUER} unless you test with an issuer of your own (plain http only on loopback).`,
          default: GOOGLE_ISSUER,
          maxLength: 2048,
          pattern: ISSUER_URL_PATTERN,
          patternErrorMessage: ISSUER_URL_MESSAGE,
          nullable: true,
        },
      },
      required: ['audience', 'service_account'],
    },
    read: (block) => ({
      audience: String(block.audience),
      serviceAccount: String(block.service_account),
      issuer: typeof block.issuer === 'string' ? block.issuer : GOOGLE_ISSUER,
    }),
  },
  pathSecret: false,
  contentTypes: [],

  async authenticate(request: AuthRequest, settings: GarSettings): Promise<Authentication> {
    const authorization = singleHeader(request.headers, 'authorization')
    if (authorization === null) {
      throw new SourceAuthError(
        'the request has no Authorization header (or more than one): enable authentication on the Pub/Sub push subscription, with the service account of sources.gar.service_account and the audience of sources.gar.audience',
      )
    }
    const token = bearerToken(authorization)
    if (token === null) {
      throw new SourceAuthError(
        'the Authorization header is not "Bearer <token>": Pub/Sub sends its OIDC token so when the push subscription has authentication enabled',
      )
    }
    let claims: Record<string, unknown>
    try {
      claims = await oidcVerifier(settings.issuer, settings.audience).verify(token)
    } catch (error) {
      if (!(error instanceof TokenRejected)) throw error
      throw new SourceAuthError(
        `the Pub/Sub token is refused: ${error.message}${HINTS[error.problem] ?? ''}`,
      )
    }
    const email = claims.email
    if (
      typeof email !== 'string' ||
      email.toLowerCase() !== settings.serviceAccount.toLowerCase()
    ) {
      throw new SourceAuthError(
        `the Pub/Sub token is for ${typeof email === 'string' ? quoted(email) : 'no email'}, not for the service account of sources.gar.service_account: make the subscription's --push-auth-service-account and the config name the same account`,
      )
    }
    if (claims.email_verified !== true) {
      throw new SourceAuthError(
        'the Pub/Sub token does not say its email is verified (email_verified is not true): Google signs tokens of service accounts with it',
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { audience, serviceAccount }) => ({
    url: `${baseUrl}/hooks/gar`,
    headers: {},
    notes: [
      `gcloud pubsub subscriptions create hookchain-gar-push --topic=gcr --push-endpoint=${baseUrl}/hooks/gar --push-auth-service-account=${serviceAccount} --push-auth-token-audience=${audience}`,
      'Pub/Sub then sends "Authorization: Bearer <OIDC token>", signed by Google for that service account and audience; the Pub/Sub service agent needs roles/iam.serviceAccountTokenCreator on that account (docs/registries/gar.md).',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const { message } = envelope.read(request.body)
    const deliveryId = message.messageId
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    const data = decodedData(message.data)
    if ('reason' in data) return ignore(data.reason)
    const pushedAt = isoTimestamp(message.publishTime) ?? request.receivedAt.toISOString()
    let push: PushEvent | string
    try {
      push = pushOf(notification.read(data.value), pushedAt)
    } catch (error) {
      // What the publisher put in the message will never read better: recorded, not refused.
      if (!(error instanceof SourcePayloadError)) throw error
      push = error.message
    }
    return typeof push === 'string' ? ignore(push) : { deliveryId, pushes: [push], ignored: null }
  },
}

/** What to change, after what is wrong with the token. */
const HINTS: Partial<Record<TokenRejected['problem'], string>> = {
  audience:
    ": set the subscription's --push-auth-token-audience and sources.gar.audience to the same value",
  issuer:
    ': Pub/Sub tokens are issued by https://accounts.google.com, the default of sources.gar.issuer',
  expired: ": check this machine's clock",
  'not-yet-valid': ": check this machine's clock",
  'issued-in-future': ": check this machine's clock",
}

/** The message data parsed, or why it will never be a notification (a reason to record). */
function decodedData(data: string | null | undefined): { value: unknown } | { reason: string } {
  if (!data) return { reason: 'the Pub/Sub message has no data' }
  // Pub/Sub itself encodes the data: anything else is not its envelope.
  if (!BASE64.test(data)) return envelope.reject('/message/data', 'must be base64')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(data, 'base64'))
  } catch {
    return {
      reason:
        'the Pub/Sub message data is not UTF-8 text, so not an Artifact Registry notification',
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return {
      reason: 'the Pub/Sub message data is not JSON, so not an Artifact Registry notification',
    }
  }
  if (!isObject(value)) {
    return {
      reason:
        'the Pub/Sub message data is not a JSON object, so not an Artifact Registry notification',
    }
  }
  return { value }
}

/** The push a notification announces, or why it announces none. */
function pushOf(event: Notification, pushedAt: string): PushEvent | string {
  if (event.action !== 'INSERT') {
    return `Artifact Registry ${shown(event.action)} notifications are not pushes`
  }
  const tagged = event.tag ? imageOf(event.tag, '/tag') : null
  const digested = event.digest ? imageOf(event.digest, '/digest') : null
  if (tagged !== null && tagged.tag === null) {
    return notification.reject('/tag', `must end with :<tag>, not ${quoted(event.tag ?? '')}`)
  }
  if (digested !== null && digested.digest === null) {
    return notification.reject(
      '/digest',
      `must end with @<digest>, not ${quoted(event.digest ?? '')}`,
    )
  }
  if (tagged === null) {
    return digested === null
      ? 'the INSERT notification names no image (neither tag nor digest)'
      : 'image pushed by digest without a tag'
  }
  if (
    digested !== null &&
    (digested.registry !== tagged.registry || digested.repository !== tagged.repository)
  ) {
    return 'the digest and the tag of the INSERT notification name different images'
  }
  return {
    source: 'gar',
    registry: tagged.registry,
    repository: tagged.repository,
    tag: tagged.tag,
    digest: digested?.digest ?? tagged.digest,
    pusher: null,
    pushedAt,
    callbackUrl: null,
  }
}

interface ImageName {
  registry: string
  repository: string
  tag: string | null
  digest: string | null
}

/** `host/path[:tag][@digest]`, as Artifact Registry writes `tag` and `digest`. */
function imageOf(text: string, pointer: string): ImageName {
  const at = text.indexOf('@')
  const name = at < 0 ? text : text.slice(0, at)
  const digest = at < 0 ? null : text.slice(at + 1)
  const slash = name.indexOf('/')
  const host = slash < 0 ? '' : name.slice(0, slash)
  if (!/[.:]/.test(host) && host !== 'localhost') {
    notification.reject(
      pointer,
      `must be a full image reference such as us-east1-docker.pkg.dev/project/repository/image:tag, not ${quoted(text)}`,
    )
  }
  let path = name.slice(slash + 1)
  let tag: string | null = null
  const colon = path.lastIndexOf(':')
  if (colon >= 0) {
    tag = checkTag(notification, path.slice(colon + 1), pointer)
    path = path.slice(0, colon)
  }
  if (digest !== null && !isDigest(digest)) {
    notification.reject(pointer, `must end with a digest such as @sha256:…, not ${quoted(text)}`)
  }
  return {
    registry: checkRegistry(notification, host, pointer),
    repository: checkRepository(notification, path, pointer),
    tag,
    digest,
  }
}
