import type { IncomingHttpHeaders } from 'node:http'

export const SOURCE_NAMES = ['dockerhub', 'distribution', 'github', 'harbor', 'quay'] as const
export type SourceName = (typeof SOURCE_NAMES)[number]

/** One image push, the same whatever registry announced it. */
export interface PushEvent {
  source: SourceName
  /** Registry host as users write it in an image reference: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  registry: string
  /** Repository path inside the registry, without the host: `acme/app`. */
  repository: string
  tag: string | null
  digest: string | null
  pusher: string | null
  /** ISO 8601, UTC. */
  pushedAt: string
  /** The registry's own callback URL (Docker Hub's `callback_url`), when it sent one. */
  callbackUrl: string | null
}

/** What a source makes of one HTTP delivery. */
export interface Normalised {
  /**
   * Identifies the delivery for de-duplication: the registry's own id when it sends one
   * (GitHub's `X-GitHub-Delivery`, the distribution event ids), else a hash of the raw body.
   */
  deliveryId: string
  pushes: PushEvent[]
  /** Set when the delivery holds no push we act on: why (blob push, pull, delete, npm package…). */
  ignored: string | null
}

/** The parts of an HTTP request a source may look at. Pure data: sources never touch the network. */
export interface SourceRequest {
  headers: IncomingHttpHeaders
  /** The body exactly as received; signatures are checked on these bytes. */
  rawBody: Buffer
  /** The body parsed as JSON (for a form, the JSON of its `formField`). */
  body: unknown
  /** The last path segment of `/hooks/<source>/<secret>`, when present. */
  pathSecret: string | null
  receivedAt: Date
}

export interface Source<Secrets> {
  name: SourceName
  /** Media types accepted besides `application/json` (compared without parameters). */
  contentTypes: readonly string[]
  /**
   * The field of an `application/x-www-form-urlencoded` body that holds the JSON document (GitHub's
   * `payload`); a source without one takes no forms.
   */
  formField?: string
  /** Throws `SourceAuthError` unless the request proves it comes from the configured registry. Constant time. */
  authenticate(request: SourceRequest, secrets: Secrets): void
  /** Throws `SourcePayloadError` for a body that is not this source's format. */
  normalise(request: SourceRequest): Normalised
}

export class SourceAuthError extends Error {
  override name = 'SourceAuthError'
}

/** The body parsed but is not this registry's payload; `pointer` names the part that is wrong. */
export class SourcePayloadError extends Error {
  override name = 'SourcePayloadError'
  constructor(
    message: string,
    readonly pointer = '',
  ) {
    super(message)
  }
}
