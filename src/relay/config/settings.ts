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
  registryCallbacks: { allowedHosts: string[]; allowHttp: boolean }
  chains: Chain[]
  /** How long finished runs and events are kept (`retention.max_age`); null: kept forever. */
  retentionMs: number | null
}

export interface GitHubSettings {
  apiUrl: string
  /** null: no credentials configured; a dispatch step then ends as `error` saying so. */
  auth: GitHubAuth | null
  /** 0 = unpaced. */
  writesPerMinute: number
}

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId: number }

export interface Chain {
  name: string
  match: { repository: string; tags: string[] | null }
  stepTimeoutMs: number
  steps: StepSpec[]
}

export type StepSpec =
  | { kind: 'dispatch'; repository: string; eventType: string }
  | { kind: 'webhook'; url: string; secret: string | null }
