import { createHmac } from 'node:crypto'
import type { JSONSchemaType } from 'ajv'
import { bodyDeliveryId } from './delivery-id.js'
import { singleHeader } from './headers.js'
import { checkRepository, checkTag, hostOf, isDigest, isRegistryHost } from './image-reference.js'
import { field, isObject, optionalName } from './optional-fields.js'
import { type PayloadFormat, payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { shown } from './reason-text.js'
import { sameSecret } from './secret-compare.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import {
  type Authentication,
  type AuthRequest,
  type ImageLabels,
  type Normalised,
  type Source,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from './types.js'

/**
 * The parts of a `package` / `registry_package` event a push is made of (shapes as in
 * `@octokit/webhooks-schemas`). `sender.login` and the version's dates are read leniently.
 */
interface GitHubPackage {
  name: string
  package_type: string
  owner: { login: string }
  package_version?: {
    version?: string | null
    package_url?: string | null
    container_metadata?: {
      tag?: { name?: string | null; digest?: string | null } | null
      labels?: Record<string, unknown> | null
    } | null
  } | null
}

interface PackageEvent {
  action: string
  package: GitHubPackage
}

interface RegistryPackageEvent {
  action: string
  registry_package: GitHubPackage
}

const packageSchema: JSONSchemaType<GitHubPackage> = {
  type: 'object',
  required: ['name', 'package_type', 'owner'],
  properties: {
    name: { type: 'string', maxLength: 255 },
    package_type: { type: 'string', maxLength: 64 },
    owner: { type: 'object', required: ['login'], properties: { login: { type: 'string' } } },
    package_version: {
      type: 'object',
      nullable: true,
      required: [],
      properties: {
        version: { type: 'string', nullable: true },
        package_url: { type: 'string', nullable: true },
        container_metadata: {
          type: 'object',
          nullable: true,
          required: [],
          properties: {
            tag: {
              type: 'object',
              nullable: true,
              required: [],
              properties: {
                name: { type: 'string', nullable: true },
                digest: { type: 'string', nullable: true },
              },
            },
            labels: { type: 'object', nullable: true, required: [] },
          },
        },
      },
    },
  },
}

const packageFormat = payloadFormat<PackageEvent>('a GitHub package event', {
  type: 'object',
  required: ['action', 'package'],
  properties: { action: { type: 'string', maxLength: 64 }, package: packageSchema },
})

const registryPackageFormat = payloadFormat<RegistryPackageEvent>(
  'a GitHub registry_package event',
  {
    type: 'object',
    required: ['action', 'registry_package'],
    properties: { action: { type: 'string', maxLength: 64 }, registry_package: packageSchema },
  },
)

const DEFAULT_REGISTRY = 'ghcr.io'
const CONTAINER_TYPES = ['container', 'docker']

/** GitHub Packages (ghcr.io): the `package` and `registry_package` events of a GitHub webhook. */
export const github: Source<{ webhookSecret: string }> = {
  name: 'github',
  title: 'GitHub Packages',
  config: stringSettings(
    'GitHub `package` and `registry_package` webhooks (container images on ghcr.io): POST /hooks/github, signed with X-Hub-Signature-256.',
    {
      webhook_secret: secretSetting(
        'Webhook secret',
        "The secret set in the GitHub webhook's settings.",
      ),
    },
    ({ webhook_secret }) => ({ webhookSecret: webhook_secret }),
  ),
  pathSecret: false,
  contentTypes: [],
  // GitHub's webhook settings default to `application/x-www-form-urlencoded`: `payload=<json>`.
  formField: 'payload',

  authenticate(request: AuthRequest, secrets: { webhookSecret: string }): Authentication {
    const signature = singleHeader(request.headers, 'x-hub-signature-256')
    if (signature === null) {
      throw new SourceAuthError(
        'the request has no X-Hub-Signature-256 header: give the GitHub webhook a secret, the one of sources.github.webhook_secret',
      )
    }
    if (request.rawBody === null) return 'body-needed'
    const expected = `sha256=${createHmac('sha256', secrets.webhookSecret).update(request.rawBody).digest('hex')}`
    if (secrets.webhookSecret === '' || !sameSecret(signature, expected)) {
      throw new SourceAuthError(
        'X-Hub-Signature-256 does not match the body signed with sources.github.webhook_secret: make the GitHub webhook secret equal to it',
      )
    }
    return 'authenticated'
  },

  webhook: (baseUrl, { webhookSecret }) => ({
    url: `${baseUrl}/hooks/github`,
    headers: {},
    notes: [
      'In the settings of the repository or organization that owns the packages: Webhooks, Add webhook, this URL as the payload URL.',
      'Content type: application/json.',
      `Secret: ${webhookSecret}`,
      'Events: "Let me select individual events", then Packages only (with Registry packages too, each push would run its chains twice).',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const event = singleHeader(request.headers, 'x-github-event')
    if (event === null) {
      throw new SourcePayloadError(
        'expected a GitHub webhook delivery: the X-GitHub-Event header is missing',
      )
    }
    const deliveryId = githubDeliveryId(request)
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (event === 'ping') return ignore('ping')

    const read = readPackageEvent(event, request.body)
    if (read === null) return ignore(`GitHub ${shown(event)} events are not package pushes`)
    const { action, pkg, key, format } = read

    // A pushed tag arrives as `published`, once per manifest; no other action is taken for a push.
    if (action !== 'published') {
      return ignore(`GitHub ${event} ${shown(action)} events are not pushes`)
    }
    if (!CONTAINER_TYPES.includes(pkg.package_type.toLowerCase())) {
      return ignore(`${shown(pkg.package_type)} packages are not container images`)
    }
    const version = pkg.package_version
    if (version === null || version === undefined) {
      return ignore('the package event names no package version')
    }
    const tag = version.container_metadata?.tag?.name ?? ''
    if (tag === '') {
      return ignore(
        'untagged container version (GitHub sends one per platform manifest of a multi-arch image)',
      )
    }
    const digest = version.container_metadata?.tag?.digest
    const sender = field(request.body as object, 'sender')
    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'github',
          registry: registryOf(version.package_url),
          repository: checkRepository(
            format,
            `${pkg.owner.login}/${pkg.name}`.toLowerCase(),
            `/${key}/name`,
          ),
          tag: checkTag(format, tag, `/${key}/package_version/container_metadata/tag/name`),
          digest: isDigest(digest) ? digest : isDigest(version.version) ? version.version : null,
          pusher: isObject(sender) ? optionalName(field(sender, 'login')) : null,
          pushedAt:
            isoTimestamp(field(version, 'updated_at')) ??
            isoTimestamp(field(version, 'created_at')) ??
            request.receivedAt.toISOString(),
          callbackUrl: null,
          ...labelsOf(version.container_metadata?.labels),
        },
      ],
    }
  },
}

/**
 * `container_metadata.labels`: GitHub lifts `source` and `revision` out of the image's OCI labels,
 * which `all_labels` holds as they are.
 */
function labelsOf(labels: Record<string, unknown> | null | undefined): {
  labels?: ImageLabels
} {
  if (!labels) return {}
  const all = (isObject(labels.all_labels) ? labels.all_labels : {}) as Record<string, unknown>
  const text = (value: unknown) =>
    typeof value === 'string' && value !== '' && value.length <= 2048 ? value : null
  const source = text(labels.source) ?? text(all['org.opencontainers.image.source'])
  const revision = text(labels.revision) ?? text(all['org.opencontainers.image.revision'])
  return source === null && revision === null ? {} : { labels: { source, revision } }
}

interface PackageEventParts {
  action: string
  pkg: GitHubPackage
  /** Where the package sits in the body, for pointers. */
  key: 'package' | 'registry_package'
  format: PayloadFormat<unknown>
}

/** The two events carry the same package object under different keys; other events are not read. */
function readPackageEvent(event: string, body: unknown): PackageEventParts | null {
  if (event === 'package') {
    const { action, package: pkg } = packageFormat.read(body)
    return { action, pkg, key: 'package', format: packageFormat }
  }
  if (event === 'registry_package') {
    const { action, registry_package: pkg } = registryPackageFormat.read(body)
    return { action, pkg, key: 'registry_package', format: registryPackageFormat }
  }
  return null
}

/**
 * A hash of the signed body, not X-GitHub-Delivery: that header is not signed, so a captured
 * delivery sent again under a new one would start its runs again. GitHub redelivers the same
 * bytes, and no two events share them (each names its package version and times).
 */
function githubDeliveryId(request: SourceRequest): string {
  return bodyDeliveryId(request.rawBody)
}

/** `ghcr.io` of `ghcr.io/acme/app:v1`; a GitHub Enterprise Server names its own registry host. */
function registryOf(packageUrl: string | null | undefined): string {
  if (!packageUrl) return DEFAULT_REGISTRY
  const host = hostOf(packageUrl)
  return isRegistryHost(host) && /[.:]/.test(host) ? host.toLowerCase() : DEFAULT_REGISTRY
}
