import type { IncomingHttpHeaders } from 'node:http'

/** One image push, the same whatever registry announced it. */
export interface PushEvent {
  /** The source that announced it: a `Source` name, as in `/hooks/<name>`. */
  source: string
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
  /**
   * The image's OCI labels `org.opencontainers.image.source` and `.revision`, when the event
   * carries them (GitHub Packages' `container_metadata.labels`); absent otherwise.
   */
  labels?: ImageLabels
}

/** Where an image says it was built from. */
export interface ImageLabels {
  source: string | null
  revision: string | null
}

/** What a source makes of one HTTP delivery. */
export interface Normalised {
  /**
   * Identifies the delivery for de-duplication: the registry's own id when it sends one and a
   * replay cannot change it (the distribution event ids), else a hash of the raw body.
   */
  deliveryId: string
  pushes: PushEvent[]
  /** Set when the delivery holds no push we act on: why (blob push, pull, delete, npm package…). */
  ignored: string | null
}

/** What authentication sees: the headers and the path, and the body once it has been read. */
export interface AuthRequest {
  headers: IncomingHttpHeaders
  /** The last path segment of `/hooks/<source>/<secret>`, when present. */
  pathSecret: string | null
  /** The body exactly as received, for signatures over it; null while it has not been read. */
  rawBody: Buffer | null
}

/**
 * `authenticated`, or `body-needed` from a source whose credentials cover the body (a signature):
 * it is asked again once the body is read. Anything else throws `SourceAuthError`.
 */
export type Authentication = 'authenticated' | 'body-needed'

/** The parts of an HTTP request a source may look at. Pure data: sources never touch the network. */
export interface SourceRequest extends AuthRequest {
  /** The body exactly as received; signatures are checked on these bytes. */
  rawBody: Buffer
  /** The body parsed as JSON (for a form, the JSON of its `formField`). */
  body: unknown
  receivedAt: Date
}

/** A JSON Schema object, as the config schema and editors read it. */
export type SchemaObject = Record<string, unknown>

/**
 * The block `sources.<name>` of the relay config: its JSON Schema (snake_case keys, as users
 * write them) and how a validated block becomes the settings the source works with.
 */
export interface SourceConfig<Settings> {
  /** An object schema: `title`, `description`, `properties`, `required`. */
  schema: SchemaObject
  read(block: Record<string, unknown>): Settings
}

export interface Source<Settings = unknown> {
  /** The name in `/hooks/<name>`, in the config (`sources.<name>`) and in the history. */
  name: string
  /** The registry as people call it: `Docker Hub`. */
  title: string
  config: SourceConfig<Settings>
  /** Takes its deliveries at `/hooks/<name>/<secret>`: for registries that can sign nothing. */
  pathSecret: boolean
  /** Media types accepted besides `application/json` (compared without parameters). */
  contentTypes: readonly string[]
  /**
   * Media types (without parameters) the source knows but does not take, each with why: such a
   * delivery is answered 415 with that reason rather than the list of accepted types.
   */
  refusedContentTypes?: Readonly<Record<string, string>>
  /**
   * `cloudevents-webhook`: answers the CloudEvents webhook validation handshake (an `OPTIONS`
   * request with `WebHook-Request-Origin`, sent by Azure Event Grid before it delivers).
   */
  handshake?: 'cloudevents-webhook'
  /**
   * The field of an `application/x-www-form-urlencoded` body that holds the JSON document (GitHub's
   * `payload`); a source without one takes no forms.
   */
  formField?: string
  /**
   * Throws `SourceAuthError` unless the request proves it comes from the configured registry, in
   * constant time. Asked first before the body is read, so that a request without credentials
   * costs the relay no more than its headers.
   * A token signed by an issuer is checked against its published keys (`identity/`), which may
   * be fetched: that throws `IdentityUnavailable` while they cannot be, answered 503.
   */
  authenticate(request: AuthRequest, settings: Settings): Authentication | Promise<Authentication>
  /** Throws `SourcePayloadError` for a body that is not this source's format. */
  normalise(request: SourceRequest, settings: Settings): Normalised
  /**
   * What to enter in the registry's webhook settings so that its deliveries reach the relay at
   * `baseUrl` (public_url) and pass `authenticate`. `hookchain-relay init` prints it with the
   * secrets, the relay's pages with placeholders (`maskedSettings`).
   */
  webhook(baseUrl: string, settings: Settings): WebhookSetup
}

/** A registry's webhook settings, as its user enters them. */
export interface WebhookSetup {
  /** Where the registry POSTs its events. */
  url: string
  /** Headers the registry must send, by name (values may hold a secret). */
  headers: Record<string, string>
  /** Any other setting to make: events to pick, content type, a secret field. */
  notes?: string[]
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
