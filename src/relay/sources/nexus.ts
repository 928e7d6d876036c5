import { createHmac } from 'node:crypto'
import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { singleHeader } from './headers.js'
import { checkRepository, checkTag, isDigest } from './image-reference.js'
import { field, isObject, optionalName } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { registrySetting } from './registry-setting.js'
import {
  type DockerAddress,
  readAddresses,
  repositoriesSetting,
  repositoryAt,
} from './repository-addresses.js'
import { sameSecret } from './secret-compare.js'
import { secretSetting } from './settings-fields.js'
import {
  type Authentication,
  type AuthRequest,
  type Normalised,
  type Source,
  SourceAuthError,
  type SourceConfig,
  type SourceRequest,
} from './types.js'

/**
 * A "Webhook: Repository" delivery of the `component` event type (Nexus Repository 3,
 * `RepositoryComponentWebhook`). `timestamp` and `initiator` are read leniently.
 */
interface NexusComponentEvent {
  action: string
  repositoryName?: string | null
  component: { format: string; name: string; version?: string | null }
}

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const

const schema: JSONSchemaType<NexusComponentEvent> = {
  type: 'object',
  required: ['action', 'component'],
  properties: {
    action: text(64),
    repositoryName: { type: 'string', nullable: true, maxLength: 255 },
    component: {
      type: 'object',
      required: ['format', 'name'],
      properties: {
        format: text(64),
        name: text(1024),
        version: { type: 'string', nullable: true, maxLength: 1024 },
      },
    },
  },
}

const format = payloadFormat('a Nexus repository component webhook', schema)

const COMPONENT_WEBHOOK = 'rm:repository:component'
/**
 * A docker component in Nexus is one tag of one image: pushing a new tag creates it, and pushing
 * the tag again can only change it (`UPDATED`; Sonatype does not document it for docker). Both
 * are taken as pushes.
 */
const PUSH_ACTIONS = ['CREATED', 'UPDATED']
const SIGNATURE = /^[0-9a-f]{40}$/i

interface NexusSettings {
  secret: string
  registry: string
  /** The repositories Docker clients do not reach at `<registry>` alone, by name. */
  repositories: ReadonlyMap<string, DockerAddress>
}

const config: SourceConfig<NexusSettings> = {
  schema: {
    description:
      'Nexus Repository "Webhook: Repository" capabilities (event type component): POST /hooks/nexus, signed with X-Nexus-Webhook-Signature (HMAC-SHA1).',
    properties: {
      secret: secretSetting('Secret key', 'The "Secret Key" of the Nexus webhook capability.'),
      registry: registrySetting(
        "The host and port of the docker repository's connector, as `docker push nexus.acme.com:8443/acme/app:v1` names it: images are then `<registry>/<name>`. Nexus does not say it in the webhook.",
        ['nexus.acme.com:8443', 'docker.acme.com'],
      ),
      repositories: repositoriesSetting(
        "Only for docker repositories that Docker clients do not reach at `<registry>/<name>`: the repository's name in Nexus, and what image references start with instead: the host and port of its own connector (`nexus.acme.com:8444`), its subdomain (`docker-hosted.nexus.acme.com`), or, with path based routing, the host and the repository's name (`nexus.acme.com/docker-hosted`).",
        { 'docker-hosted': 'nexus.acme.com/docker-hosted' },
      ),
    },
    required: ['secret', 'registry'],
  },
  read: (block) => ({
    secret: block.secret as string,
    registry: (block.registry as string).toLowerCase(),
    repositories: readAddresses(block.repositories),
  }),
}

/** Sonatype Nexus Repository 3: the "Webhook: Repository" capability on a docker repository. */
export const nexus: Source<NexusSettings> = {
  name: 'nexus',
  title: 'Sonatype Nexus Repository',
  config,
  pathSecret: false,
  contentTypes: [],

  authenticate(request: AuthRequest, settings: NexusSettings): Authentication {
    const signature = singleHeader(request.headers, 'x-nexus-webhook-signature')
    if (signature === null) {
      throw new SourceAuthError(
        'the request has no X-Nexus-Webhook-Signature header: give the Nexus webhook capability a Secret Key, the one of sources.nexus.secret',
      )
    }
    if (!SIGNATURE.test(signature)) {
      throw new SourceAuthError(
        'X-Nexus-Webhook-Signature is not an HMAC-SHA1 (40 hex digits): point a Nexus "Webhook: Repository" capability at this URL, with the Secret Key of sources.nexus.secret',
      )
    }
    if (request.rawBody === null) return 'body-needed'
    const expected = createHmac('sha1', settings.secret).update(request.rawBody).digest('hex')
    if (settings.secret === '' || !sameSecret(signature.toLowerCase(), expected)) {
      throw new SourceAuthError(
        'X-Nexus-Webhook-Signature does not match the body signed with sources.nexus.secret: make the Secret Key of the Nexus webhook capability equal to it',
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { secret }) => ({
    url: `${baseUrl}/hooks/nexus`,
    headers: {},
    notes: [
      'A capability of type "Webhook: Repository" (System → Capabilities), on the Docker hosted repository to watch.',
      'Event Types: component.',
      `Secret Key: ${secret}`,
    ],
  }),

  normalise(request: SourceRequest, settings: NexusSettings): Normalised {
    const webhook = singleHeader(request.headers, 'x-nexus-webhook-id')
    const pushedAt = isObject(request.body)
      ? nexusTimestamp(field(request.body, 'timestamp'))
      : null
    // Not X-Nexus-Webhook-Delivery: the header is not signed, so a captured delivery sent again
    // with another would start its chains again. Nexus stamps each event to the millisecond.
    const deliveryId = bodyDeliveryId(request.rawBody, pushedAt)
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (webhook !== null && webhook !== COMPONENT_WEBHOOK) {
      return ignore(
        `Nexus ${webhookName(webhook)} webhooks are not component events (choose the event type "component")`,
      )
    }

    const event = format.read(request.body)
    if (!PUSH_ACTIONS.includes(event.action)) {
      return ignore(`Nexus component ${shown(event.action)} events are not pushes`)
    }
    const { component } = event
    if (component.format !== 'docker') {
      return ignore(`Nexus ${shown(component.format)} components are not container images`)
    }
    const version = format.required(component.version, '/component/version')
    if (isDigest(version)) return ignore('manifest pushed by digest without a tag')
    const address = settings.repositories.get(event.repositoryName ?? '') ?? {
      registry: settings.registry,
      prefix: '',
    }

    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'nexus',
          registry: address.registry,
          repository: checkRepository(
            format,
            repositoryAt(address, component.name),
            '/component/name',
          ),
          tag: checkTag(format, version, '/component/version'),
          digest: null,
          pusher: initiatorName(field(event, 'initiator')),
          pushedAt: pushedAt ?? request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

/** Nexus writes `2026-11-26T21:31:57.219+0000`: an offset without its colon. */
function nexusTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null
  return isoTimestamp(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
}

/** `ci-pusher` of `ci-pusher/10.20.30.40`: Nexus joins the user and the client's address. */
function initiatorName(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const slash = value.lastIndexOf('/')
  return optionalName(slash > 0 ? value.slice(0, slash) : value)
}

/** `rm:repository:asset` as it is; anything stranger quoted. */
function webhookName(id: string): string {
  return /^[a-z]+(?::[a-z]+)+$/.test(id) ? id : shown(id)
}
