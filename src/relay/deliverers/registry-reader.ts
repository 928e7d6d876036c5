import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { isIP, type LookupFunction } from 'node:net'
import { getErrorMessage } from '../../shared/errors.js'
import type { RegistryAccess } from '../config/settings.js'
import type { AttemptRecord } from '../model/attempt.js'
import type { Image } from '../model/run.js'
import type { ImageLabels } from '../sources/types.js'
import { startAttempt } from './attempt.js'
import { PostError } from './json-post.js'
import { addressRefusal, createPublicOnlyLookup } from './outbound-address.js'
import { type GetAnswer, registryGet } from './registry-get.js'

/** What to read of an image: the digest its tag points to, the labels of its config. */
export interface ImageReadRequest {
  digest: boolean
  labels: boolean
}

/** What was read; what could not be, with why. */
export interface ImageRead {
  /** The manifest digest (of the index, for a multi-platform image); null when not read. */
  digest: string | null
  /** The OCI labels naming the source; null when not read. */
  labels: ImageLabels | null
  /** Every HTTP request made, as the run's history shows it (no credentials, no tokens). */
  attempts: AttemptRecord[]
  /** Why something asked for could not be read, in words a person can act on; null when all was. */
  problem: string | null
  /** The problem may pass by itself (a 5xx, a 429, no answer): worth another try later. */
  retryable: boolean
}

/** Reads images through registries' HTTP API (the OCI distribution spec). Never throws. */
export interface ImageReader {
  read(image: Image, want: ImageReadRequest): Promise<ImageRead>
  /** Why `registry` is not asked now (it gave no answer a moment ago), or null. */
  silent?(registry: string): string | null
}

export interface ImageReaderOptions {
  registries: readonly RegistryAccess[]
  /** Per HTTP request. Default 10 s. */
  timeoutMs?: number
  userAgent?: string
  now?: () => number
}

/** How long a registry that gave no answer at all is not asked again. */
export const SILENT_REGISTRY_MS = 60_000

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]
const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ')
const MAX_BYTES = 4 * 1024 * 1024
const MAX_REDIRECTS = 3
const SOURCE_LABEL = 'org.opencontainers.image.source'
const REVISION_LABEL = 'org.opencontainers.image.revision'
/** No such host, or nothing listens: trying again in a second would not help. */
const UNREACHABLE = /ENOTFOUND|ECONNREFUSED/
/** Docker Hub's registry API is not at docker.io itself. */
const DOCKER_HUB_API = 'registry-1.docker.io'

/** Why a read stopped. */
class ReadFailure extends Error {
  override name = 'ReadFailure'
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
  }
}

/**
 * The reader of images. A registry listed in `registries` is read with its credentials (and over
 * plain http when it says so), at whatever address it has; any other anonymously, over https,
 * and only at public addresses: an image reference is no way to reach into the relay's network.
 */
export function createImageReader(options: ImageReaderOptions): ImageReader {
  const timeoutMs = options.timeoutMs ?? 10_000
  const publicOnly = createPublicOnlyLookup()
  const now = options.now ?? Date.now
  /** Registries that gave no answer at all, and until when they are not asked again. */
  const silent = new Map<string, { until: number; problem: string }>()
  const quietNow = (host: string) => {
    const quiet = silent.get(host)
    return quiet && quiet.until > now() ? quiet : null
  }
  return {
    silent: (registry) => quietNow(registry.toLowerCase())?.problem ?? null,
    async read(image, want) {
      const host = image.registry.toLowerCase()
      const quiet = quietNow(host)
      if (quiet) {
        return {
          digest: null,
          labels: null,
          attempts: [],
          problem: quiet.problem,
          retryable: false,
        }
      }
      silent.delete(host)
      const listed = options.registries.find((r) => r.host === host)
      const session = new RegistrySession({
        registry: image.registry,
        repository: image.repository,
        access: listed ?? null,
        lookup: listed ? undefined : publicOnly,
        timeoutMs,
        userAgent: options.userAgent ?? 'hookchain-relay',
      })
      const found: ImageRead = {
        digest: null,
        labels: null,
        attempts: session.attempts,
        problem: null,
        retryable: false,
      }
      try {
        await readInto(found, session, image, want)
      } catch (error) {
        found.problem =
          error instanceof ReadFailure || error instanceof PostError
            ? `${image.registry}: ${error.message}`
            : `${image.registry}: ${getErrorMessage(error)}`
        found.retryable =
          error instanceof ReadFailure
            ? error.retryable
            : error instanceof PostError &&
              error.reason !== 'refused' &&
              !UNREACHABLE.test(error.message)
        // A burst of pushes should not each wait for a registry that does not answer.
        if (error instanceof PostError && error.reason !== 'refused') {
          found.problem = `${found.problem} (not asked again for ${SILENT_REGISTRY_MS / 1000} s)`
          silent.set(host, { until: now() + SILENT_REGISTRY_MS, problem: found.problem })
        }
      }
      return found
    },
  }
}

async function readInto(
  found: ImageRead,
  session: RegistrySession,
  image: Image,
  want: ImageReadRequest,
): Promise<void> {
  const reference = image.digest ?? image.tag
  if (reference === null) throw new ReadFailure('the image names neither a tag nor a digest', false)
  if (want.digest && !want.labels && image.digest === null) {
    // HEAD: Docker Hub does not count it against the pull rate limit.
    const head = await session.manifest(reference, 'HEAD')
    const digest = headerDigest(head.headers)
    if (digest) {
      found.digest = digest
      return
    }
  }
  const top = await session.manifest(reference, 'GET')
  found.digest = image.digest ?? headerDigest(top.headers) ?? sha256(top.body)
  if (!want.labels) return
  let manifest = parseJson(top.body, `the manifest of ${reference}`)
  if (isIndex(top.headers, manifest)) {
    const chosen = platformManifest(manifest)
    if (!chosen) throw new ReadFailure(`the index of ${reference} lists no image manifest`, false)
    manifest = parseJson(
      (await session.manifest(chosen, 'GET')).body,
      `the manifest ${chosen} of ${reference}`,
    )
  }
  const config = field(field(manifest, 'config'), 'digest')
  if (typeof config !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(config)) {
    throw new ReadFailure(`the manifest of ${reference} names no image config`, false)
  }
  const blob = parseJson((await session.blob(config)).body, `the image config ${config}`)
  const labels = field(field(blob, 'config'), 'Labels')
  const label = (name: string) => {
    const value = field(labels, name)
    return typeof value === 'string' && value !== '' && value.length <= 2048 ? value : null
  }
  found.labels = { source: label(SOURCE_LABEL), revision: label(REVISION_LABEL) }
}

interface SessionOptions {
  registry: string
  repository: string
  access: RegistryAccess | null
  lookup: LookupFunction | undefined
  timeoutMs: number
  userAgent: string
}

/** The requests of one read: one repository of one registry, and the token it was given. */
class RegistrySession {
  readonly attempts: AttemptRecord[] = []
  private readonly base: URL
  private authorization: string | null = null
  private challenged = false

  constructor(private readonly options: SessionOptions) {
    const host = options.registry === 'docker.io' ? DOCKER_HUB_API : options.registry
    this.base = new URL(`${options.access?.http ? 'http' : 'https'}://${host}/v2/`)
  }

  manifest(reference: string, method: 'GET' | 'HEAD'): Promise<GetAnswer> {
    return this.read(`manifests/${reference}`, method, ACCEPT, `the manifest ${reference}`)
  }

  blob(digest: string): Promise<GetAnswer> {
    return this.read(`blobs/${digest}`, 'GET', '*/*', `the blob ${digest}`)
  }

  /** A path of the repository, with the registry's token auth and its redirects followed. */
  private async read(
    path: string,
    method: 'GET' | 'HEAD',
    accept: string,
    what: string,
  ): Promise<GetAnswer> {
    let url = new URL(`${this.options.repository}/${path}`, this.base)
    let answer = await this.send(url, method, { accept, ...this.auth(url) })
    if (answer.status === 401 && !this.challenged) {
      this.challenged = true
      this.authorization = await this.authorise(answer.headers['www-authenticate'])
      answer = await this.send(url, method, { accept, ...this.auth(url) })
    }
    for (let hops = 0; isRedirect(answer.status); hops++) {
      const location = answer.headers.location
      if (hops >= MAX_REDIRECTS || !location) {
        throw new ReadFailure(`${what}: too many redirects, or one without a Location`, false)
      }
      const next = new URL(location, url)
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && url.protocol === 'http:')) {
        throw new ReadFailure(`${what}: a redirect to ${next.origin}, which is not https`, false)
      }
      url = next
      answer = await this.send(url, method, { accept, ...this.auth(url) })
    }
    if (answer.status === 200) return answer
    throw this.refusal(answer.status, what)
  }

  /** The credentials for a request to `url`: never sent to another origin than the registry's. */
  private auth(url: URL): Record<string, string> {
    return this.authorization !== null && url.origin === this.base.origin
      ? { authorization: this.authorization }
      : {}
  }

  private refusal(status: number, what: string): ReadFailure {
    const anonymous = this.options.access?.username ? '' : ' anonymously'
    switch (status) {
      case 401:
      case 403:
        return new ReadFailure(
          `${what} may not be read${anonymous} (HTTP ${status}): ${
            anonymous
              ? `list ${this.options.registry} under registries with a username and password that may pull ${this.options.repository}`
              : `check that the credentials of ${this.options.registry} in registries may pull ${this.options.repository}`
          }`,
          false,
        )
      case 404:
        return new ReadFailure(
          `${what} of ${this.options.repository} is not there (HTTP 404)`,
          false,
        )
      default:
        return new ReadFailure(`${what}: HTTP ${status}`, status === 429 || status >= 500)
    }
  }

  /** Answers a 401's challenge: a bearer token from the realm it names, or basic credentials. */
  private async authorise(header: string | string[] | undefined): Promise<string> {
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header)
    const { access } = this.options
    const basic =
      access?.username && access.password
        ? `Basic ${Buffer.from(`${access.username}:${access.password}`).toString('base64')}`
        : null
    if (challenge?.scheme === 'basic') {
      if (basic) return basic
      throw new ReadFailure(
        `it asks for a username and password: list ${this.options.registry} under registries with them`,
        false,
      )
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new ReadFailure(
        'it answered 401 without a Bearer or Basic challenge (WWW-Authenticate) the relay can answer',
        false,
      )
    }
    let realm: URL
    try {
      realm = new URL(challenge.params.realm)
    } catch {
      throw new ReadFailure(`its token realm "${challenge.params.realm}" is not a URL`, false)
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && access?.http)) {
      throw new ReadFailure(`its token realm ${realm.origin} is not https`, false)
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
    realm.searchParams.set(
      'scope',
      challenge.params.scope ?? `repository:${this.options.repository}:pull`,
    )
    const answer = await this.send(realm, 'GET', {
      accept: 'application/json',
      ...(basic ? { authorization: basic } : {}),
    })
    if (answer.status !== 200) {
      throw new ReadFailure(
        `its token endpoint ${realm.origin}${realm.pathname} answered HTTP ${answer.status}${
          answer.status === 401 || answer.status === 403
            ? `: check the credentials of ${this.options.registry} in registries`
            : ''
        }`,
        answer.status === 429 || answer.status >= 500,
      )
    }
    const body = parseJson(answer.body, 'the token endpoint’s answer')
    const token = field(body, 'token') ?? field(body, 'access_token')
    if (typeof token !== 'string' || token === '') {
      throw new ReadFailure(`its token endpoint ${realm.origin} gave no token`, false)
    }
    return `Bearer ${token}`
  }

  /** One request, recorded for the history with its status or why it got none. */
  private async send(
    url: URL,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
  ): Promise<GetAnswer> {
    const attempt = startAttempt()
    const target = `${this.options.registry}/${this.options.repository}`
    const request = { method, url: `${url.origin}${url.pathname}` }
    // A lookup refuses names of private addresses; an address itself is never looked up.
    const address = url.hostname.replace(/^\[|\]$/g, '')
    const refused = this.options.lookup && isIP(address) ? addressRefusal(address) : null
    if (refused) {
      const error = `refused: ${refused}; list ${this.options.registry} under registries to read it there`
      this.attempts.push(attempt.finish({ target, request, status: null, error }))
      throw new ReadFailure(error, false)
    }
    try {
      const answer = await registryGet(url, {
        method,
        headers: { 'user-agent': this.options.userAgent, ...headers },
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: MAX_BYTES,
        lookup: this.options.lookup,
      })
      this.attempts.push(
        attempt.finish({
          target,
          request,
          status: answer.status,
          error: answer.status < 400 ? null : `HTTP ${answer.status}`,
        }),
      )
      return answer
    } catch (error) {
      const message = getErrorMessage(error)
      this.attempts.push(attempt.finish({ target, request, status: null, error: message }))
      throw error
    }
  }
}

/** `Bearer realm="…",service="…",scope="…"` → the scheme (lower case) and its parameters. */
export function parseChallenge(
  header: string | undefined,
): { scheme: string; params: Record<string, string> } | null {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header ?? '')
  if (!match) return null
  const params: Record<string, string> = {}
  for (const param of (match[2] ?? '').matchAll(
    /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g,
  )) {
    params[(param[1] ?? '').toLowerCase()] = (param[2] ?? param[3] ?? '').replace(/\\(.)/g, '$1')
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params }
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status)
}

function headerDigest(headers: IncomingHttpHeaders): string | null {
  const value = headers['docker-content-digest']
  return typeof value === 'string' && /^sha256:[a-f0-9]{64}$/.test(value) ? value : null
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

function isIndex(headers: IncomingHttpHeaders, manifest: unknown): boolean {
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim()
  const mediaType = field(manifest, 'mediaType')
  return (
    INDEX_TYPES.includes(type ?? '') ||
    (typeof mediaType === 'string' && INDEX_TYPES.includes(mediaType)) ||
    (Array.isArray(field(manifest, 'manifests')) && field(manifest, 'config') === undefined)
  )
}

/** The manifest to read labels from: linux/amd64, else the first of a real platform. */
function platformManifest(index: unknown): string | null {
  const manifests = field(index, 'manifests')
  if (!Array.isArray(manifests)) return null
  const images = manifests.filter((m) => {
    const os = field(field(m, 'platform'), 'os')
    const digest = field(m, 'digest')
    // Attestations and SBOMs hang off an index as manifests of platform unknown/unknown.
    return typeof digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(digest) && os !== 'unknown'
  })
  const amd64 = images.find(
    (m) =>
      field(field(m, 'platform'), 'os') === 'linux' &&
      field(field(m, 'platform'), 'architecture') === 'amd64',
  )
  const chosen = amd64 ?? images[0]
  return chosen ? (field(chosen, 'digest') as string) : null
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new ReadFailure(`${what} is not JSON`, false)
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined
}
