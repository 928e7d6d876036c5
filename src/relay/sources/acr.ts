import type { JSONSchemaType } from 'ajv'
import { requireBearer } from './bearer-auth.js'
import { bodyDeliveryId } from './delivery-id.js'
import { checkRegistry, checkRepository, checkTag } from './image-reference.js'
import { field, isObject, optionalDigest, optionalName } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import type { Authentication, AuthRequest, Normalised, Source, SourceRequest } from './types.js'

/** One ACR webhook event (no envelope); `timestamp` and `actor.name` are read leniently. */
interface AcrEvent {
  action: string
  id?: string | null
  target?: {
    digest?: string | null
    repository?: string | null
    tag?: string | null
  } | null
  request?: { host?: string | null } | null
}

const text = { type: 'string', nullable: true, maxLength: 2048 } as const

const schema: JSONSchemaType<AcrEvent> = {
  type: 'object',
  required: ['action'],
  properties: {
    action: { type: 'string', maxLength: 64 },
    id: { type: 'string', nullable: true, maxLength: 200 },
    target: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { digest: text, repository: text, tag: text },
    },
    request: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { host: text },
    },
  },
}

const format = payloadFormat('an Azure Container Registry webhook event', schema)

/** Why each of ACR's other actions starts nothing. */
const NOT_PUSHES: Readonly<Record<string, string>> = {
  delete: 'ACR delete events are not pushes',
  chart_push: 'ACR chart_push events come from the legacy Helm chart repository, not image pushes',
  chart_delete: 'ACR chart_delete events are not pushes',
  // With quarantine on, ACR sends the push once the image is marked Passed; without, it sends both.
  quarantine:
    'ACR quarantine events are not pushes: ACR sends a push event once the image may be pulled',
  ping: 'ACR ping (the webhook test)',
}

/** Azure Container Registry webhooks: one event per request, the token in a custom header. */
export const acr: Source<{ token: string }> = {
  name: 'acr',
  title: 'Azure Container Registry',
  config: stringSettings(
    'Azure Container Registry webhooks: POST /hooks/acr with the custom header `Authorization: Bearer <token>`.',
    {
      token: secretSetting(
        'Token',
        'The bearer token of the webhook\'s custom header "Authorization: Bearer <token>".',
      ),
    },
    ({ token }) => ({ token }),
  ),
  pathSecret: false,
  contentTypes: [],

  authenticate(request: AuthRequest, secrets: { token: string }): Authentication {
    return requireBearer(request.headers, secrets.token, {
      missing:
        'the request has no Authorization header (or more than one): give the ACR webhook the custom header "Authorization: Bearer <token>" with the token of sources.acr.token',
      wrong:
        'the Authorization header is not "Bearer <token>" with the token of sources.acr.token: set the custom header of the ACR webhook to it',
    })
  },

  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/acr`,
    headers: { Authorization: `Bearer ${token}` },
    notes: [
      `az acr webhook create --registry <registry> --name hookchain --uri ${baseUrl}/hooks/acr --actions push --headers "Authorization=Bearer ${token}"; in the portal, Actions: push and this Custom header.`,
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const event = format.read(request.body)
    const deliveryId = acrDeliveryId(event, request.rawBody)
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (event.action !== 'push') {
      const known = Object.hasOwn(NOT_PUSHES, event.action) ? NOT_PUSHES[event.action] : undefined
      return ignore(known ?? `ACR ${shown(event.action)} events are not pushes`)
    }
    const target = event.target ?? format.reject('/target', 'is required for a push event')
    if (!target.tag) return ignore('manifest pushed by digest without a tag')
    const actor = field(event, 'actor')
    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'acr',
          registry: checkRegistry(
            format,
            format.required(event.request?.host, '/request/host'),
            '/request/host',
          ),
          repository: checkRepository(
            format,
            format.required(target.repository, '/target/repository'),
            '/target/repository',
          ),
          tag: checkTag(format, target.tag, '/target/tag'),
          digest: optionalDigest(target.digest),
          pusher: isObject(actor) ? optionalName(field(actor, 'name')) : null,
          pushedAt: isoTimestamp(field(event, 'timestamp')) ?? request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

/** ACR's event id (a GUID); a ping has none, and is told apart by its bytes. */
function acrDeliveryId(event: AcrEvent, rawBody: Buffer): string {
  if (event.id && /^[A-Za-z0-9-]{1,100}$/.test(event.id)) return event.id
  return bodyDeliveryId(rawBody, isoTimestamp(field(event, 'timestamp')))
}
