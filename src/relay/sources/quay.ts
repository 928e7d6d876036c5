import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { checkRegistry, checkRepository, checkTag, hostOf } from './image-reference.js'
import { pathSecretCheck, pathSecretUrl } from './path-secret.js'
import { payloadFormat } from './payload-format.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import type { Normalised, PushEvent, Source, SourceRequest } from './types.js'

/**
 * A Quay repository notification. "Push to Repository" (`repo_push`) carries `updated_tags`;
 * the other events (builds, vulnerabilities, mirroring) share the rest. Quay sends no digest,
 * no pusher and no time.
 */
interface QuayNotification {
  repository: string
  docker_url: string
  updated_tags?: string[] | null
}

const schema: JSONSchemaType<QuayNotification> = {
  type: 'object',
  required: ['repository', 'docker_url'],
  properties: {
    repository: { type: 'string', maxLength: 2048 },
    docker_url: { type: 'string', maxLength: 2048 },
    updated_tags: {
      type: 'array',
      nullable: true,
      maxItems: 1000,
      items: { type: 'string', maxLength: 2048 },
    },
  },
}

const format = payloadFormat('a Quay repository notification', schema)

/** Quay.io and Red Hat Quay: a webhook notification on the "Push to Repository" event. */
export const quay: Source<{ secret: string }> = {
  name: 'quay',
  title: 'Quay',
  config: stringSettings(
    'Quay repository push notifications: POST /hooks/quay/<secret>.',
    { secret: secretSetting('Secret', 'The last part of the notification URL.') },
    ({ secret }) => ({ secret }),
  ),
  pathSecret: true,
  contentTypes: [],

  authenticate: pathSecretCheck('quay', 'Quay'),

  webhook: (baseUrl, { secret }) => ({
    url: pathSecretUrl(baseUrl, 'quay', secret),
    headers: {},
    notes: [
      'In the repository settings: Create Notification, event "Push to Repository", notification "Webhook POST", this URL as the webhook URL, no body template.',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const notification = format.read(request.body)
    // Two pushes of one tag send the same bytes: only the time of receipt tells them apart.
    const deliveryId = bodyDeliveryId(request.rawBody, request.receivedAt.toISOString())
    const tags = notification.updated_tags
    if (!tags) {
      return {
        deliveryId,
        pushes: [],
        ignored: 'Quay notifications other than "Push to Repository" are not pushes',
      }
    }
    const registry = checkRegistry(format, hostOf(notification.docker_url), '/docker_url')
    const repository = checkRepository(format, notification.repository, '/repository')
    const seen = new Set<string>()
    const pushes: PushEvent[] = []
    tags.forEach((tag, index) => {
      if (seen.has(tag)) return
      seen.add(tag)
      pushes.push({
        source: 'quay',
        registry,
        repository,
        tag: checkTag(format, tag, `/updated_tags/${index}`),
        digest: null,
        pusher: null,
        pushedAt: request.receivedAt.toISOString(),
        callbackUrl: null,
      })
    })
    return { deliveryId, pushes, ignored: pushes.length > 0 ? null : 'the push updated no tags' }
  },
}
