import { requireBearer } from './bearer-auth.js'
import { BATCH_MEDIA_TYPE, type CloudEvent, readCloudEvent } from './cloudevent-message.js'
import { HARBOR_PUSH_CLOUD_EVENT_TYPE, harborEventData, harborPushes } from './harbor.js'
import { singleHeader } from './headers.js'
import {
  checkRegistry,
  checkRepository,
  checkTag,
  isDigest,
  REGISTRY_HOST_PATTERN,
} from './image-reference.js'
import { field, isObject, optionalDigest, optionalName } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { secretSetting } from './settings-fields.js'
import {
  type Authentication,
  type AuthRequest,
  type Normalised,
  type PushEvent,
  type Source,
  SourceAuthError,
  type SourceRequest,
} from './types.js'

export interface CloudEventsSettings {
  token: string
  /** The host Zot serves its images on: Zot's events name none. */
  registry: string | null
}

type Pushes = Pick<Normalised, 'pushes' | 'ignored'>
type PushReader = (event: CloudEvent, settings: CloudEventsSettings, receivedAt: Date) => Pushes

const SOURCE = 'cloudevents'

interface ZotImageData {
  name: string
  reference: string
  digest?: string | null
}

const zotImageData = payloadFormat<ZotImageData>('the data of a Zot image event', {
  type: 'object',
  required: ['name', 'reference'],
  properties: {
    name: { type: 'string', maxLength: 512 },
    reference: { type: 'string', maxLength: 512 },
    digest: { type: 'string', nullable: true, maxLength: 512 },
  },
})

/** Zot's `image.updated`: a manifest stored under a tag (or a digest) of repository `name`. */
function zotPushes(event: CloudEvent, settings: CloudEventsSettings, receivedAt: Date): Pushes {
  const at = event.dataPointer
  const data = zotImageData.read(event.data(), at)
  if (settings.registry === null) {
    return {
      pushes: [],
      ignored:
        'Zot events name no registry host: set sources.cloudevents.registry to the host Zot serves images on (like zot.acme.com:5000) for them to start chains',
    }
  }
  if (isDigest(data.reference))
    return { pushes: [], ignored: 'image pushed by digest without a tag' }
  return {
    pushes: [
      {
        source: SOURCE,
        registry: settings.registry,
        repository: checkRepository(zotImageData, data.name, `${at}/name`),
        tag: checkTag(zotImageData, data.reference, `${at}/reference`),
        digest: optionalDigest(data.digest),
        pusher: pusherOf(data),
        pushedAt: event.time ?? receivedAt.toISOString(),
        callbackUrl: null,
      },
    ],
    ignored: null,
  }
}

/** `actor.name`, which newer Zot releases and ACR add when they know who pushed. */
function pusherOf(data: object): string | null {
  const actor = field(data, 'actor')
  return isObject(actor) ? optionalName(field(actor, 'name')) : null
}

/** Harbor's CloudEvents payload format: the same data as `/hooks/harbor` reads in it. */
function harborCloudEventPushes(event: CloudEvent, _: CloudEventsSettings, receivedAt: Date) {
  const base = event.dataPointer
  return harborPushes(harborEventData.read(event.data(), base), {
    source: SOURCE,
    format: harborEventData,
    base,
    pusher: optionalName(event.attributes.operator),
    pushedAt: event.time ?? receivedAt.toISOString(),
  })
}

/** The ACR webhook event that Event Grid's `ImagePushed` carries as its data. */
interface AcrPushData {
  target: {
    repository: string
    tag?: string | null
    digest?: string | null
  }
  request?: { host?: string | null } | null
}

const acrPushData = payloadFormat<AcrPushData>('the data of an Event Grid ImagePushed event', {
  type: 'object',
  required: ['target'],
  properties: {
    target: {
      type: 'object',
      required: ['repository'],
      properties: {
        repository: { type: 'string', maxLength: 512 },
        tag: { type: 'string', nullable: true, maxLength: 512 },
        digest: { type: 'string', nullable: true, maxLength: 512 },
      },
    },
    request: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { host: { type: 'string', nullable: true, maxLength: 512 } },
    },
  },
})

// `/subscriptions/…/providers/Microsoft.ContainerRegistry/registries/<name>`.
const ACR_RESOURCE = /\/providers\/Microsoft\.ContainerRegistry\/registries\/([A-Za-z0-9]{5,50})$/i

/** Azure Event Grid's `Microsoft.ContainerRegistry.ImagePushed`, in the CloudEvents schema. */
function eventGridPushes(event: CloudEvent, _: CloudEventsSettings, receivedAt: Date): Pushes {
  const at = event.dataPointer
  const data = acrPushData.read(event.data(), at)
  const { target } = data
  if (!target.tag) return { pushes: [], ignored: 'image pushed by digest without a tag' }
  const push: PushEvent = {
    source: SOURCE,
    registry: acrRegistry(data, event.attributes.source, at),
    repository: checkRepository(acrPushData, target.repository, `${at}/target/repository`),
    tag: checkTag(acrPushData, target.tag, `${at}/target/tag`),
    digest: optionalDigest(target.digest),
    pusher: pusherOf(data),
    pushedAt: isoTimestamp(field(data, 'timestamp')) ?? event.time ?? receivedAt.toISOString(),
    callbackUrl: null,
  }
  return { pushes: [push], ignored: null }
}

/** The host the image was pushed to, else the login server of the registry the event names. */
function acrRegistry(data: AcrPushData, source: string, at: string): string {
  const host = data.request?.host
  if (host) return checkRegistry(acrPushData, host, `${at}/request/host`)
  // Without the host the push named, only the Azure public cloud's login server can be assumed.
  const name = ACR_RESOURCE.exec(source)?.[1]
  if (name) return `${name.toLowerCase()}.azurecr.io`
  return acrPushData.reject(
    `${at}/request/host`,
    'is required (or a source naming the registry, …/registries/<name>) to know the registry host',
  )
}

/** The CloudEvents types that are image pushes, and how each one's data is read. */
const PUSH_TYPES: ReadonlyMap<string, PushReader> = new Map([
  ['zotregistry.image.updated', zotPushes],
  [HARBOR_PUSH_CLOUD_EVENT_TYPE, harborCloudEventPushes],
  ['Microsoft.ContainerRegistry.ImagePushed', eventGridPushes],
])

/**
 * The delivery id: `<source> <id>`, which CloudEvents producers keep unique (and Event Grid keeps
 * across its retries). A space or "%" in the source is percent-encoded so the first space parts them.
 */
export function cloudEventDeliveryId(source: string, id: string): string {
  return `${source.replace(/[% ]/g, encodeURIComponent)} ${id}`
}

/** CloudEvents 1.0 over HTTP, binary or structured: Zot, Harbor's CloudEvents format, Event Grid. */
export const cloudevents: Source<CloudEventsSettings> = {
  name: SOURCE,
  title: 'CloudEvents (Zot, Harbor, Azure Event Grid)',
  config: {
    schema: {
      description:
        'CloudEvents 1.0 over HTTP, binary or structured mode (Zot, Harbor, Azure Event Grid): POST /hooks/cloudevents with `Authorization: Bearer <token>`.',
      properties: {
        token: secretSetting(
          'Token',
          'The bearer token every sender puts in `Authorization: Bearer <token>`.',
        ),
        registry: {
          type: 'string',
          title: 'Registry host of Zot',
          description:
            "The host (and port) Zot serves images on, as image references name it. Zot's events name no host: without this key they are recorded as ignored.",
          pattern: REGISTRY_HOST_PATTERN,
          patternErrorMessage:
            'must be a registry host with an optional port, like zot.acme.com or 10.0.0.5:5000 (no scheme, no path)',
          examples: ['zot.acme.com:5000'],
        },
      },
      required: ['token'],
    },
    read: (block) => ({
      token: String(block.token),
      registry: typeof block.registry === 'string' ? block.registry : null,
    }),
  },
  pathSecret: false,
  contentTypes: ['application/cloudevents+json'],
  refusedContentTypes: {
    [BATCH_MEDIA_TYPE]: `Batched CloudEvents (${BATCH_MEDIA_TYPE}) are not taken, since each event needs a delivery of its own to be de-duplicated: turn batching off in the sender (for Event Grid, leave "Enable batching" unset on the event subscription), or send application/cloudevents+json.`,
  },
  handshake: 'cloudevents-webhook',

  authenticate(request: AuthRequest, settings: CloudEventsSettings): Authentication {
    const authorization = singleHeader(request.headers, 'authorization')
    if (authorization !== null && /^basic\s/i.test(authorization)) {
      throw new SourceAuthError(
        'the Authorization header is Basic: send "Authorization: Bearer <token>" with the token of sources.cloudevents.token (for Zot, give the sink credentials.token rather than a username and password)',
      )
    }
    return requireBearer(request.headers, settings.token, {
      missing:
        'the request has no Authorization header: send "Authorization: Bearer <token>" with the token of sources.cloudevents.token (Zot: the sink\'s credentials.token; Harbor: the Auth Header; Event Grid: a delivery attribute named Authorization)',
      wrong:
        'the Authorization header is not "Bearer <token>" with the token of sources.cloudevents.token',
    })
  },

  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/cloudevents`,
    headers: { Authorization: `Bearer ${token}` },
    notes: [
      `Zot: a sink of extensions.events with this url and credentials.token "${token}".`,
      `Harbor: a webhook of type CloudEvents, Auth Header "Bearer ${token}".`,
      'Azure Event Grid: an event subscription with this webhook endpoint, batching off, and a delivery attribute named Authorization (secret) with the header above.',
    ],
  }),

  normalise(request: SourceRequest, settings: CloudEventsSettings): Normalised {
    const event = readCloudEvent(request)
    const { type, source, id } = event.attributes
    const deliveryId = cloudEventDeliveryId(source, id)
    const read = PUSH_TYPES.get(type)
    if (!read) {
      return {
        deliveryId,
        pushes: [],
        ignored: `CloudEvents of type ${shown(type)} are not image pushes (the relay acts on ${[...PUSH_TYPES.keys()].join(', ')})`,
      }
    }
    return { deliveryId, ...read(event, settings, request.receivedAt) }
  },
}
