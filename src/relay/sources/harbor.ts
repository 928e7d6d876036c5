import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { bearerToken, singleHeader } from './headers.js'
import { checkRegistry, checkRepository, checkTag, hostOf, isDigest } from './image-reference.js'
import { field, isObject, optionalDigest, optionalName } from './optional-fields.js'
import { type PayloadFormat, payloadFormat } from './payload-format.js'
import { isoFromEpochSeconds, isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { sameSecret } from './secret-compare.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import {
  type Authentication,
  type AuthRequest,
  type Normalised,
  type PushEvent,
  type Source,
  SourceAuthError,
  type SourceRequest,
} from './types.js'

interface HarborResource {
  digest?: string | null
  tag?: string | null
  resource_url?: string | null
}

/** `event_data` of the Default format, `data` of the CloudEvents one. */
export interface HarborEventData {
  resources?: HarborResource[] | null
  repository?: { repo_full_name?: string | null } | null
}

/** Harbor's "Default" payload format; `occur_at` and `operator` are read leniently. */
interface HarborDefaultEvent {
  type: string
  event_data?: HarborEventData | null
}

/** Harbor's "CloudEvents" payload format (Harbor 2.8+); `time` and `operator` are read leniently. */
interface HarborCloudEvent {
  specversion: string
  type: string
  data?: HarborEventData | null
}

const text = { type: 'string', nullable: true, maxLength: 2048 } as const

const eventDataSchema: JSONSchemaType<HarborEventData> = {
  type: 'object',
  required: [],
  properties: {
    resources: {
      type: 'array',
      nullable: true,
      maxItems: 1000,
      items: {
        type: 'object',
        required: [],
        properties: { digest: text, tag: text, resource_url: text },
      },
    },
    repository: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { repo_full_name: text },
    },
  },
}

const defaultFormat = payloadFormat<HarborDefaultEvent>('a Harbor webhook payload', {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', maxLength: 128 },
    event_data: { ...eventDataSchema, nullable: true },
  },
})

const cloudEventFormat = payloadFormat<HarborCloudEvent>('a Harbor CloudEvents payload', {
  type: 'object',
  required: ['specversion', 'type'],
  properties: {
    specversion: { type: 'string', maxLength: 16 },
    type: { type: 'string', maxLength: 128 },
    data: { ...eventDataSchema, nullable: true },
  },
})

/** The data of a Harbor event alone, as the `cloudevents` source reads it. */
export const harborEventData = payloadFormat<HarborEventData>(
  'the data of a Harbor event',
  eventDataSchema,
)

const PUSH_TYPE = 'PUSH_ARTIFACT'
export const HARBOR_PUSH_CLOUD_EVENT_TYPE = 'harbor.artifact.pushed'

/** Harbor's project webhooks, in either payload format; the "Auth Header" is the secret. */
export const harbor: Source<{ token: string }> = {
  name: 'harbor',
  title: 'Harbor',
  config: stringSettings(
    'Harbor webhooks (PUSH_ARTIFACT): POST /hooks/harbor with the token in the Authorization header.',
    { token: secretSetting('Token', "The Auth Header set in Harbor's webhook policy.") },
    ({ token }) => ({ token }),
  ),
  pathSecret: false,
  contentTypes: ['application/cloudevents+json'],

  authenticate(request: AuthRequest, secrets: { token: string }): Authentication {
    const authorization = singleHeader(request.headers, 'authorization')
    if (authorization === null) {
      throw new SourceAuthError(
        'the request has no Authorization header: set the "Auth Header" of the Harbor webhook to the token of sources.harbor.token',
      )
    }
    // Harbor sends the configured auth header verbatim: the bare token, or "Bearer <token>".
    const bare = sameSecret(authorization, secrets.token)
    const bearer = sameSecret(bearerToken(authorization), secrets.token)
    if (!bare && !bearer) {
      throw new SourceAuthError(
        'the Authorization header is neither the token of sources.harbor.token nor "Bearer <token>" with it',
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/harbor`,
    headers: { Authorization: `Bearer ${token}` },
    notes: [
      'In the project: Webhooks, New Webhook, notify type http, payload format Default or CloudEvents, event type "Artifact pushed", this URL as the endpoint URL, and "Bearer <token>" as the Auth Header.',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const event = readEvent(request.body)
    const deliveryId = bodyDeliveryId(request.rawBody, event.sentAt)
    if (!event.isPush) {
      return {
        deliveryId,
        pushes: [],
        ignored: `Harbor ${shown(event.type)} events are not pushes`,
      }
    }
    const { format, base, data } = event
    if (!data) return format.reject(base, `is required for a ${event.type} event`)
    return {
      deliveryId,
      ...harborPushes(data, {
        source: 'harbor',
        format,
        base,
        pusher: event.operator,
        pushedAt: event.sentAt ?? request.receivedAt.toISOString(),
      }),
    }
  },
}

/** Where the data of a Harbor push came from, and what its pushes share. */
export interface HarborPushContext {
  /** The source that received it: `harbor`, or `cloudevents` for the same CloudEvent sent there. */
  source: string
  format: PayloadFormat<unknown>
  /** Pointer to the data in the body: `/event_data` or `/data`. */
  base: string
  pusher: string | null
  pushedAt: string
}

/** One push per tagged resource of an "artifact pushed" event's data. */
export function harborPushes(
  data: HarborEventData,
  context: HarborPushContext,
): { pushes: PushEvent[]; ignored: string | null } {
  const { format, base } = context
  const repository = checkRepository(
    format,
    format.required(data.repository?.repo_full_name, `${base}/repository/repo_full_name`),
    `${base}/repository/repo_full_name`,
  )
  const resources = data.resources ?? []
  const pushes: PushEvent[] = []
  for (const [index, resource] of resources.entries()) {
    const { tag, digest } = resource
    if (!tag || tag === digest || isDigest(tag)) continue
    const pointer = `${base}/resources/${index}`
    pushes.push({
      source: context.source,
      registry: checkRegistry(
        format,
        hostOf(format.required(resource.resource_url, `${pointer}/resource_url`)),
        `${pointer}/resource_url`,
      ),
      repository,
      tag: checkTag(format, tag, `${pointer}/tag`),
      digest: optionalDigest(digest),
      pusher: context.pusher,
      pushedAt: context.pushedAt,
      callbackUrl: null,
    })
  }
  return {
    pushes,
    ignored:
      pushes.length > 0
        ? null
        : resources.length > 0
          ? 'artifact pushed by digest without a tag'
          : 'the push names no artifact',
  }
}

interface HarborEvent {
  type: string
  isPush: boolean
  format: PayloadFormat<unknown>
  /** Pointer to the event data: `/event_data` or `/data`. */
  base: string
  data: HarborEventData | null | undefined
  operator: string | null
  /** When Harbor says the event happened; null when it does not say. */
  sentAt: string | null
}

/** Both payload formats, read into one shape. */
function readEvent(body: unknown): HarborEvent {
  if (isObject(body) && field(body, 'specversion') !== undefined) {
    const event = cloudEventFormat.read(body)
    return {
      type: event.type,
      isPush: event.type === HARBOR_PUSH_CLOUD_EVENT_TYPE,
      format: cloudEventFormat,
      base: '/data',
      data: event.data,
      operator: optionalName(field(event, 'operator')),
      sentAt: isoTimestamp(field(event, 'time')),
    }
  }
  const event = defaultFormat.read(body)
  return {
    type: event.type,
    isPush: event.type === PUSH_TYPE,
    format: defaultFormat,
    base: '/event_data',
    data: event.event_data,
    operator: optionalName(field(event, 'operator')),
    sentAt: isoFromEpochSeconds(field(event, 'occur_at')),
  }
}
