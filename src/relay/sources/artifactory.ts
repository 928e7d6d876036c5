import { createHmac } from 'node:crypto'
import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { singleHeader } from './headers.js'
import { checkRepository, checkTag, isDigest } from './image-reference.js'
import { payloadFormat } from './payload-format.js'
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
 * A predefined webhook of the JFrog Platform: `{domain, event_type, data, jpd_origin}`. For the
 * docker domain `data` names the repository, image, tag and manifest checksum; the rest of it
 * (`path`, `platforms`, `size`) is not read.
 */
interface ArtifactoryEvent {
  domain: string
  event_type: string
  data?: {
    repo_key?: string | null
    image_name?: string | null
    tag?: string | null
    sha256?: string | null
  } | null
}

const text = { type: 'string', nullable: true, maxLength: 1024 } as const

const schema: JSONSchemaType<ArtifactoryEvent> = {
  type: 'object',
  required: ['domain', 'event_type'],
  properties: {
    domain: { type: 'string', maxLength: 64 },
    event_type: { type: 'string', maxLength: 64 },
    data: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { repo_key: text, image_name: text, tag: text, sha256: text },
    },
  },
}

const format = payloadFormat('an Artifactory webhook event', schema)

interface ArtifactorySettings {
  secret: string
  registry: string
  /** The repositories not reached at `<registry>/<repo_key>`, by repository key. */
  repositories: ReadonlyMap<string, DockerAddress>
}

// The checksum of the tag's manifest.json or list.manifest.json, which is the image's digest.
const BARE_SHA256 = /^[0-9a-f]{64}$/i
// The secret itself, or (with "Use secret for payload signing") the HMAC-SHA256 of the body in hex.
const SIGNATURE = /^(?:sha256=)?([0-9a-f]{64})$/i
// Artifactory keeps the platform manifests of a multi-arch image in `sha256__<hex>` folders: were
// one reported as pushed, that folder would be its tag.
const MANIFEST_FOLDER = /^sha256__[0-9a-f]{64}$/i

const config: SourceConfig<ArtifactorySettings> = {
  schema: {
    description:
      'JFrog Artifactory predefined webhooks ("Docker tag was pushed"): POST /hooks/artifactory with X-JFrog-Event-Auth, the secret token or an HMAC-SHA256 of the body.',
    properties: {
      secret: secretSetting('Secret token', 'The "Secret token" of the Artifactory webhook.'),
      registry: registrySetting(
        'The JFrog Platform host Docker clients push to, as in `docker push acme.jfrog.io/docker-local/acme/app:v1` (the repository path method): images are then `<registry>/<repo_key>/<image>`. Artifactory does not say it in the webhook.',
        ['acme.jfrog.io', 'artifactory.acme.com'],
      ),
      repositories: repositoriesSetting(
        'Only for repositories that Docker clients do not reach at `<registry>/<repo_key>`: the repository key, and what image references start with instead: a host for the subdomain (`docker-local.acme.com`) or port (`artifactory.acme.com:8876`) method, or a host and path (`acme.jfrog.io/docker-virtual`) to name the images through a virtual repository.',
        { 'docker-local': 'docker-local.artifactory.acme.com' },
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

/** JFrog Artifactory (self-hosted or JFrog Cloud): predefined webhooks of the docker domain. */
export const artifactory: Source<ArtifactorySettings> = {
  name: 'artifactory',
  title: 'JFrog Artifactory',
  config,
  pathSecret: false,
  contentTypes: [],

  authenticate(request: AuthRequest, settings: ArtifactorySettings): Authentication {
    const given = singleHeader(request.headers, 'x-jfrog-event-auth')
    if (given === null) {
      throw new SourceAuthError(
        'the request has no X-JFrog-Event-Auth header: set the "Secret token" of the Artifactory webhook to the secret of sources.artifactory.secret',
      )
    }
    if (sameSecret(given, settings.secret)) return 'authenticated'
    const signature = SIGNATURE.exec(given)?.[1]
    if (signature === undefined) {
      throw new SourceAuthError(
        'X-JFrog-Event-Auth is neither the secret of sources.artifactory.secret nor an HMAC-SHA256 of the body: make the "Secret token" of the Artifactory webhook equal to it',
      )
    }
    if (request.rawBody === null) return 'body-needed'
    const expected = createHmac('sha256', settings.secret).update(request.rawBody).digest('hex')
    if (settings.secret === '' || !sameSecret(signature.toLowerCase(), expected)) {
      throw new SourceAuthError(
        'X-JFrog-Event-Auth does not match the body signed with sources.artifactory.secret: make the "Secret token" of the Artifactory webhook equal to it',
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { secret }) => ({
    url: `${baseUrl}/hooks/artifactory`,
    headers: {},
    notes: [
      'Event: Docker, "Docker tag was pushed", with the Docker repositories to watch.',
      `Secret token: ${secret}`,
      'Use secret for payload signing: on (recommended); off sends the secret token itself in X-JFrog-Event-Auth, which the relay takes too.',
    ],
  }),

  normalise(request: SourceRequest, settings: ArtifactorySettings): Normalised {
    const event = format.read(request.body)
    // Two pushes of the same image to a tag send the same bytes: only the time of receipt tells
    // them apart.
    const deliveryId = bodyDeliveryId(request.rawBody, request.receivedAt.toISOString())
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (event.domain !== 'docker') {
      return ignore(`Artifactory ${shown(event.domain)} events are not Docker pushes`)
    }
    if (event.event_type !== 'pushed') {
      return ignore(`Artifactory docker ${shown(event.event_type)} events are not pushes`)
    }
    const { data } = event
    if (!data) return format.reject('/data', 'is required for a docker pushed event')
    const repoKey = format.required(data.repo_key, '/data/repo_key')
    const image = format.required(data.image_name, '/data/image_name')
    const tag = format.required(data.tag, '/data/tag')
    if (isDigest(tag) || MANIFEST_FOLDER.test(tag)) {
      return ignore('manifest pushed by digest without a tag')
    }

    const address = settings.repositories.get(repoKey) ?? {
      registry: settings.registry,
      prefix: checkRepository(format, repoKey, '/data/repo_key'),
    }
    const repository = repositoryAt(address, image)
    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'artifactory',
          registry: address.registry,
          repository: checkRepository(format, repository, '/data/image_name'),
          tag: checkTag(format, tag, '/data/tag'),
          digest: digestOf(data.sha256),
          pusher: null,
          pushedAt: request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

function digestOf(sha256: string | null | undefined): string | null {
  if (typeof sha256 !== 'string') return null
  if (BARE_SHA256.test(sha256)) return `sha256:${sha256.toLowerCase()}`
  return isDigest(sha256) ? sha256 : null
}
