/** The relay's configuration after `${NAME}` substitution, validation and defaults: parsed once, used everywhere. */
export interface Settings {
  /**
   * Base of the callback URLs handed to steps, without a trailing slash; null when the config
   * leaves it out, for the relay's listening address (`http://localhost:<port>`).
   */
  publicUrl: string | null
  adminToken: string | null
  github: GitHubSettings
  /** The enabled sources, by name, with the settings each reads from its config block. */
  sources: Record<string, unknown>
  /**
   * The enabled sources' blocks as the config writes them (snake_case, secrets in them): what the
   * chains page describes each webhook from, its secrets masked (`sources/webhook-setup.ts`).
   */
  sourceBlocks: Record<string, Record<string, unknown>>
  registryCallbacks: { allowedHosts: string[]; allowHttp: boolean }
  /** How the relay reads images from registries (digests, OCI labels); anonymous for a host not listed. */
  registries?: RegistryAccess[]
  chains: Chain[]
  /** The values of every secret in the config, kept out of logs and of what the history stores. */
  secrets: readonly string[]
  /** How long finished runs and events are kept (`retention.max_age`); null: kept forever. */
  retentionMs: number | null
  /** How long the body of a rejected delivery is kept (`retention.rejected_payloads`). */
  rejectedPayloadMs: number
  /** Most runs one delivery starts (`limits.runs_per_delivery`). */
  runsPerDelivery: number
  /** `/metrics` answers only with the admin token. */
  metricsRequireAdmin: boolean
}

/** Settings of a relay that listens: `publicUrl` is the config's, or the listening address. */
export type ServedSettings = Settings & { publicUrl: string }

export interface GitHubSettings {
  apiUrl: string
  /** null: no credentials configured; a dispatch step then ends as `error` saying so. */
  auth: GitHubAuth | null
  /** 0 = unpaced. */
  writesPerMinute: number
  /** Whose OIDC tokens may start chains (`github.oidc`); the defaults when left out. */
  oidc?: OidcSettings
}

export interface OidcSettings {
  /** The issuer of GitHub Actions' job tokens, or a GitHub Enterprise Server's. */
  issuer: string
  /** The `aud` a job's token must carry. */
  audience: string
}

/** `registries[]`: a registry the relay reads images from, and how. */
export interface RegistryAccess {
  /** `registry.example.com:5000`, lower-case, as image references name it. */
  host: string
  username: string | null
  password: string | null
  /** Plain http: only for a registry on a trusted network. */
  http: boolean
}

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId: number }

export interface Chain {
  name: string
  match: { repository: string; tags: string[] | null }
  stepTimeoutMs: number
  steps: StepSpec[]
  onFailure: SentStepSpec[]
  notify: NotifyTarget[]
  /** Who may start it from a workflow with the job's OIDC token; absent: nobody but the admin. */
  start?: { repositories: string[] } | null
  /** Commit statuses on the image's source commit; absent: none. */
  reportToCommit?: { context: string } | null
}

/** A step that is sent somewhere. */
export type SentStepSpec =
  | { kind: 'dispatch'; repository: string; eventType: string }
  | { kind: 'webhook'; url: string; secret: string | null }

export type StepSpec =
  | SentStepSpec
  | { kind: 'parallel'; require: 'all' | 'any'; branches: SentStepSpec[] }
  | { kind: 'approval'; timeoutMs: number }

export type NotifyEvent = 'success' | 'failure' | 'error' | 'cancelled' | 'approval'

export type NotifyTarget =
  | { kind: 'slack' | 'teams' | 'discord'; url: string; on: NotifyEvent[] }
  | { kind: 'webhook'; url: string; secret: string | null; on: NotifyEvent[] }
