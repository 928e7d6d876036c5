import type { JSONSchemaType } from 'ajv'
import { requireBearer } from './bearer-auth.js'
import { combinedDeliveryId } from './delivery-id.js'
import { checkRegistry, checkRepository, checkTag, hostOf } from './image-reference.js'
import { field, isObject, optionalDigest, optionalName } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import type {
  Authentication,
  AuthRequest,
  Normalised,
  PushEvent,
  Source,
  SourceRequest,
} from './types.js'

/** What a manifest push by tag looks like; `timestamp`, `request.host` and `actor.name` are read leniently. */
interface DistributionEvent {
  id: string
  action: string
  target: {
    mediaType?: string | null
    digest?: string | null
    repository?: string | null
    url?: string | null
    tag?: string | null
  }
}

interface Envelope {
  events: DistributionEvent[]
}

const optionalString = { type: 'string', nullable: true, maxLength: 2048 } as const

const schema: JSONSchemaType<Envelope> = {
  type: 'object',
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['id', 'action', 'target'],
        properties: {
          id: { type: 'string', maxLength: 200 },
          action: { type: 'string', maxLength: 64 },
          target: {
            type: 'object',
            required: [],
            properties: {
              mediaType: optionalString,
              digest: optionalString,
              repository: optionalString,
              url: optionalString,
              tag: optionalString,
            },
          },
        },
      },
    },
  },
}

const format = payloadFormat('a registry notification envelope ({"events": [...]})', schema)

/** The media types of an image (or image index) manifest: anything else pushed is a blob. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]

/** The CNCF registry (`distribution`), GitLab's registry and Harbor core all send this envelope. */
export const distribution: Source<{ token: string }> = {
  name: 'distribution',
  title: 'CNCF distribution registry',
  config: stringSettings(
    'Notifications of a CNCF distribution registry (also GitLab self-managed, Harbor core): POST /hooks/distribution with `Authorization: Bearer <token>`.',
    { token: secretSetting('Token', 'The bearer token the registry sends.') },
    ({ token }) => ({ token }),
  ),
  pathSecret: false,
  contentTypes: [
    'application/vnd.docker.distribution.events.v1+json',
    'application/vnd.docker.distribution.events.v2+json',
  ],

  authenticate(request: AuthRequest, secrets: { token: string }): Authentication {
    return requireBearer(request.headers, secrets.token, {
      missing:
        'the request has no Authorization header: configure the registry notification endpoint to send "Authorization: Bearer <token>" with the token of sources.distribution.token',
      wrong:
        'the Authorization header is not "Bearer <token>" with the token of sources.distribution.token',
    })
  },

  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/distribution`,
    headers: { Authorization: `Bearer ${token}` },
    notes: [
      "In the registry's config.yml, an entry of notifications.endpoints with this url and the header (headers: { Authorization: [\"Bearer <token>\"] }); on self-managed GitLab, an entry of registry['notifications'] in gitlab.rb.",
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const { events } = format.read(request.body)
    const pushes: PushEvent[] = []
    const reasons = new Set<string>()
    events.forEach((event, index) => {
      const reason = whyNotAPush(event)
      if (reason === null) pushes.push(toPush(event, `/events/${index}`, request.receivedAt))
      else reasons.add(reason)
    })
    return {
      deliveryId: combinedDeliveryId(events.map((event) => event.id)),
      pushes,
      ignored:
        pushes.length > 0
          ? null
          : reasons.size > 0
            ? [...reasons].join('; ')
            : 'the envelope holds no events',
    }
  },
}

function whyNotAPush(event: DistributionEvent): string | null {
  if (event.action !== 'push') return `${shown(event.action)} events are not pushes`
  const mediaType = event.target.mediaType
  if (!mediaType || !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    return `blob push (${mediaType ? shown(mediaType) : 'no media type'}) is not an image push`
  }
  if (!event.target.tag) {
    return 'manifest pushed by digest without a tag'
  }
  return null
}

function toPush(event: DistributionEvent, pointer: string, receivedAt: Date): PushEvent {
  const { target } = event
  const request = field(event, 'request')
  const actor = field(event, 'actor')
  return {
    source: 'distribution',
    registry: registryOf(request, target.url, pointer),
    repository: checkRepository(
      format,
      format.required(target.repository, `${pointer}/target/repository`),
      `${pointer}/target/repository`,
    ),
    tag: checkTag(format, target.tag ?? '', `${pointer}/target/tag`),
    digest: optionalDigest(target.digest),
    pusher: isObject(actor) ? optionalName(field(actor, 'name')) : null,
    pushedAt: isoTimestamp(field(event, 'timestamp')) ?? receivedAt.toISOString(),
    callbackUrl: null,
  }
}

/** The host the client pushed to, as it would write it in an image reference. */
function registryOf(
  request: unknown,
  targetUrl: string | null | undefined,
  pointer: string,
): string {
  const host = isObject(request) ? field(request, 'host') : undefined
  if (typeof host === 'string' && host !== '') {
    return checkRegistry(format, host, `${pointer}/request/host`)
  }
  if (targetUrl) {
    return checkRegistry(format, hostOf(targetUrl), `${pointer}/target/url`)
  }
  return format.reject(
    `${pointer}/request/host`,
    'is required (or /target/url) to know the registry host',
  )
}
