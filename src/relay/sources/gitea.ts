import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { singleHeader } from './headers.js'
import { checkRegistry, checkRepository, checkTag, hostOf, isDigest } from './image-reference.js'
import { field, isObject, optionalName } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { registrySetting } from './registry-setting.js'
import { sameSecret } from './secret-compare.js'
import { secretSetting } from './settings-fields.js'
import {
  type Authentication,
  type AuthRequest,
  type Normalised,
  type Source,
  SourceAuthError,
  type SourceConfig,
  SourcePayloadError,
  type SourceRequest,
} from './types.js'

/**
 * The parts of a `package` webhook a push is made of (Gitea's `PackagePayload`; Forgejo sends the
 * same). `sender.login` and `package.created_at` are read leniently.
 */
interface PackageEvent {
  action: string
  package: {
    type: string
    name: string
    version: string
    html_url?: string | null
    owner: { login: string }
  }
}

const schema: JSONSchemaType<PackageEvent> = {
  type: 'object',
  required: ['action', 'package'],
  properties: {
    action: { type: 'string', maxLength: 64 },
    package: {
      type: 'object',
      required: ['type', 'name', 'version', 'owner'],
      properties: {
        type: { type: 'string', maxLength: 64 },
        name: { type: 'string', maxLength: 1024 },
        version: { type: 'string', maxLength: 1024 },
        html_url: { type: 'string', nullable: true, maxLength: 2048 },
        owner: {
          type: 'object',
          required: ['login'],
          properties: { login: { type: 'string', maxLength: 255 } },
        },
      },
    },
  },
}

const format = payloadFormat('a Gitea package webhook', schema)

interface GiteaSettings {
  secret: string
  /** null: the host of the package's page, which is Gitea's own (its ROOT_URL). */
  registry: string | null
}

const SIGNATURE = /^[0-9a-f]{64}$/i

const config: SourceConfig<GiteaSettings> = {
  schema: {
    description:
      'Gitea and Forgejo package webhooks (container packages): POST /hooks/gitea, signed with X-Gitea-Signature / X-Forgejo-Signature (HMAC-SHA256).',
    properties: {
      secret: secretSetting('Secret', 'The "Secret" of the Gitea or Forgejo webhook.'),
      registry: {
        ...registrySetting(
          "The host Docker clients push to, when it is not the host of Gitea's own pages (its ROOT_URL), which is taken when this is left out.",
          ['gitea.acme.com', 'registry.acme.com:8443'],
        ),
        nullable: true,
      },
    },
    required: ['secret'],
  },
  read: (block) => ({
    secret: block.secret as string,
    registry: typeof block.registry === 'string' ? block.registry.toLowerCase() : null,
  }),
}

/** Gitea and Forgejo: the `package` event of a user, organization or system webhook. */
export const gitea: Source<GiteaSettings> = {
  name: 'gitea',
  title: 'Gitea and Forgejo',
  config,
  pathSecret: false,
  contentTypes: [],

  authenticate(request: AuthRequest, settings: GiteaSettings): Authentication {
    // Forgejo sends both headers; its own is the one checked, and a bad one is not rescued.
    const name = request.headers['x-forgejo-signature']
      ? 'X-Forgejo-Signature'
      : 'X-Gitea-Signature'
    const signature = singleHeader(request.headers, name)
    if (signature === null) {
      throw new SourceAuthError(
        `the request has no single ${name} header: give the Gitea or Forgejo webhook a Secret, the one of sources.gitea.secret`,
      )
    }
    if (signature === '') {
      throw new SourceAuthError(
        `${name} is empty: the webhook has no Secret; set it to the secret of sources.gitea.secret`,
      )
    }
    if (!SIGNATURE.test(signature)) {
      throw new SourceAuthError(
        `${name} is not an HMAC-SHA256 (64 hex digits): point a Gitea or Forgejo webhook at this URL, with the Secret of sources.gitea.secret`,
      )
    }
    if (request.rawBody === null) return 'body-needed'
    const expected = createHmac('sha256', settings.secret).update(request.rawBody).digest('hex')
    if (settings.secret === '' || !sameSecret(signature.toLowerCase(), expected)) {
      throw new SourceAuthError(
        `${name} does not match the body signed with sources.gitea.secret: make the Secret of the webhook equal to it${isForm(request.headers) ? ', and its POST content type application/json (a form is signed inside, not as sent)' : ''}`,
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { secret }) => ({
    url: `${baseUrl}/hooks/gitea`,
    headers: {},
    notes: [
      'A webhook of type Gitea or Forgejo on the user or organisation that owns the packages: HTTP Method POST, POST Content Type application/json.',
      'Trigger On: Custom Events, then Package only.',
      `Secret: ${secret}`,
    ],
  }),

  normalise(request: SourceRequest, settings: GiteaSettings): Normalised {
    const forgejo = singleHeader(request.headers, 'x-forgejo-event')
    const event = forgejo ?? singleHeader(request.headers, 'x-gitea-event')
    if (event === null) {
      throw new SourcePayloadError(
        'expected a Gitea or Forgejo webhook delivery: the X-Gitea-Event header is missing',
      )
    }
    const vendor = forgejo === null ? 'Gitea' : 'Forgejo'
    const pkg = isObject(request.body) ? field(request.body, 'package') : undefined
    const createdAt = isObject(pkg) ? isoTimestamp(field(pkg, 'created_at')) : null
    // Not X-Gitea-Delivery: "Replay" sends the same bytes under a new one, and the header is not
    // signed, so a captured delivery sent again with another would start its chains again.
    const deliveryId = bodyDeliveryId(request.rawBody, createdAt)
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (event !== 'package')
      return ignore(`${vendor} ${shown(event)} events are not package events`)

    const { action, package: container } = format.read(request.body)
    if (action !== 'created')
      return ignore(`${vendor} package ${shown(action)} events are not pushes`)
    if (container.type !== 'container') {
      return ignore(`${shown(container.type)} packages are not container images`)
    }
    // Each platform manifest of a multi-arch push is a version named by its digest; the tag that
    // names them all comes in an event of its own.
    if (isDigest(container.version)) {
      return ignore(`untagged manifest (${vendor} sends one per platform of a multi-arch image)`)
    }

    const sender = isObject(request.body) ? field(request.body, 'sender') : undefined
    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'gitea',
          registry: settings.registry ?? registryOf(container.html_url),
          repository: checkRepository(
            format,
            `${container.owner.login}/${container.name}`.toLowerCase(),
            '/package/name',
          ),
          tag: checkTag(format, container.version, '/package/version'),
          digest: null,
          pusher: isObject(sender) ? optionalName(field(sender, 'login')) : null,
          pushedAt: createdAt ?? request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

/** The host of the package's page: Gitea serves its container registry on its own host. */
function registryOf(htmlUrl: string | null | undefined): string {
  const pointer = '/package/html_url'
  const url = format.required(htmlUrl, pointer)
  return checkRegistry(format, hostOf(url).toLowerCase(), pointer)
}

function isForm(headers: IncomingHttpHeaders): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(headers['content-type'] ?? '')
}
