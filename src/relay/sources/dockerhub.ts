import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { checkRepository, checkTag } from './image-reference.js'
import { field, optionalCallbackUrl, optionalName } from './optional-fields.js'
import { pathSecretCheck, pathSecretUrl } from './path-secret.js'
import { payloadFormat } from './payload-format.js'
import { isoFromEpochSeconds } from './push-times.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import type { Normalised, Source, SourceRequest } from './types.js'

/**
 * The parts of Docker Hub's push payload that must be right. `push_data.pusher`,
 * `push_data.pushed_at` and `callback_url` are read leniently: a garbled one becomes null.
 */
interface DockerHubPush {
  push_data: { tag: string }
  repository: { repo_name: string }
}

const schema: JSONSchemaType<DockerHubPush> = {
  type: 'object',
  required: ['push_data', 'repository'],
  properties: {
    push_data: { type: 'object', required: ['tag'], properties: { tag: { type: 'string' } } },
    repository: {
      type: 'object',
      required: ['repo_name'],
      properties: { repo_name: { type: 'string' } },
    },
  },
}

const format = payloadFormat('a Docker Hub push payload', schema)

/** Docker Hub signs nothing: the secret is the last segment of the webhook URL. */
export const dockerhub: Source<{ secret: string }> = {
  name: 'dockerhub',
  title: 'Docker Hub',
  config: stringSettings(
    'Docker Hub webhooks: POST /hooks/dockerhub/<secret> (unsigned, so the secret is in the URL).',
    { secret: secretSetting('Secret', 'The last part of the webhook URL.') },
    ({ secret }) => ({ secret }),
  ),
  pathSecret: true,
  contentTypes: [],

  authenticate: pathSecretCheck('dockerhub', 'Docker Hub'),

  webhook: (baseUrl, { secret }) => ({
    url: pathSecretUrl(baseUrl, 'dockerhub', secret),
    headers: {},
    notes: [
      'In the repository on hub.docker.com: Webhooks, a name of your choice, this URL as the webhook URL, then Create.',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const push = format.read(request.body)
    const pushedAt = isoFromEpochSeconds(field(push.push_data, 'pushed_at'))
    return {
      deliveryId: bodyDeliveryId(request.rawBody, pushedAt),
      ignored: null,
      pushes: [
        {
          source: 'dockerhub',
          registry: 'docker.io',
          repository: checkRepository(format, push.repository.repo_name, '/repository/repo_name'),
          tag: checkTag(format, push.push_data.tag, '/push_data/tag'),
          digest: null,
          pusher: optionalName(field(push.push_data, 'pusher')),
          pushedAt: pushedAt ?? request.receivedAt.toISOString(),
          callbackUrl: optionalCallbackUrl(field(push, 'callback_url')),
        },
      ],
    }
  },
}
