import type { JSONSchemaType } from 'ajv'
import { ISSUER_URL_MESSAGE, ISSUER_URL_PATTERN } from '../identity/issuer-url.js'
import { REGISTRY_HOST_PATTERN } from '../sources/image-reference.js'
import { SOURCES } from '../sources/index.js'
import { SECRET_MIN_LENGTH, secretSetting } from '../sources/settings-fields.js'
import { DURATION_PATTERN } from './duration.js'

/** The config file as written (snake_case), after `${NAME}` substitution and before defaults. */
export interface RawConfig {
  public_url?: string
  admin_token?: string
  github?: RawGitHub
  sources?: RawSources
  registry_callbacks?: RawRegistryCallbacks
  registries?: RawRegistry[]
  retention?: { max_age?: string; rejected_payloads?: string }
  limits?: { runs_per_delivery?: number }
  metrics?: { require_admin_token?: boolean }
  chains?: RawChain[]
}

export interface RawGitHub {
  api_url?: string
  token?: string
  app?: RawGitHubApp
  writes_per_minute?: number
  oidc?: { issuer?: string; audience?: string }
}

export interface RawGitHubApp {
  app_id: number | string
  private_key_file: string
  installation_id: number
}

/** `sources.<name>`: each source's own block (see `Source.config`). */
export type RawSources = Record<string, Record<string, unknown>>

export interface RawRegistry {
  host: string
  username?: string
  password?: string
  http?: boolean
}

export interface RawRegistryCallbacks {
  allowed_hosts?: string[]
  allow_http?: boolean
}

export interface RawChain {
  name: string
  match: { repository: string; tags?: string[] }
  step_timeout?: string
  steps: RawStep[]
  on_failure?: RawSentStep[]
  notify?: RawNotifyTarget[]
  start?: { repositories: string[] }
  report_to_commit?: { context?: string }
}

/** A step that is sent somewhere: exactly one of the two keys. */
export interface RawSentStep {
  dispatch?: { repository: string; event_type: string }
  webhook?: { url: string; secret?: string }
}

/** Exactly one key (`minProperties`/`maxProperties` in the schema). */
export interface RawStep extends RawSentStep {
  parallel?: { require?: 'all' | 'any'; steps: RawSentStep[] }
  approval?: { timeout?: string }
}

/** One of `slack`, `teams`, `discord` or `webhook` (a rule checks it), and the events it wants. */
export interface RawNotifyTarget {
  slack?: { webhook_url: string }
  teams?: { webhook_url: string }
  discord?: { webhook_url: string }
  webhook?: { url: string; secret?: string }
  on?: ('success' | 'failure' | 'error' | 'cancelled' | 'approval')[]
}

export const CONFIG_SCHEMA_ID = 'https://hookchain.dev/schemas/hookchain.schema.json'
/** The schema for editors, relative to the repository root; written by scripts/write-config-schema.ts. */
export const CONFIG_SCHEMA_FILE = 'schemas/hookchain.schema.json'
export const DEFAULT_API_URL = 'https://api.github.com'
export const DEFAULT_WRITES_PER_MINUTE = 80
export const MAX_WRITES_PER_MINUTE = 5000
export const DEFAULT_STEP_TIMEOUT = '30m'
export const DEFAULT_APPROVAL_TIMEOUT = '1d'
export const NOTIFY_EVENTS = ['success', 'failure', 'error', 'cancelled', 'approval'] as const
export const DEFAULT_NOTIFY_EVENTS: RawNotifyTarget['on'] = ['failure', 'error']
export const DEFAULT_RETENTION = '90d'
export const DEFAULT_REJECTED_PAYLOAD_RETENTION = '7d'
export const DEFAULT_RUNS_PER_DELIVERY = 100
/** `retention.max_age` that keeps the history forever. */
export const FOREVER = 'forever'
export const EVENT_TYPE_MAX = 100
export const CHAIN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
export const DEFAULT_OIDC_ISSUER = 'https://token.actions.githubusercontent.com'
export const DEFAULT_OIDC_AUDIENCE = 'hookchain'
export const DEFAULT_COMMIT_CONTEXT = 'hookchain/{chain}/{step}'
/** The placeholders of `report_to_commit.context`. */
export const COMMIT_CONTEXT_PLACEHOLDERS = ['chain', 'step'] as const

export const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+(?:[/?#]\\S*)?$'
const DURATION_MESSAGE = 'must be a duration such as 90s, 30m or 2h'

/*
 * `patternErrorMessage` is the message VS Code and the YAML language server show for a failed
 * `pattern`; the loader shows the same words.
 */
function httpUrl(title: string, description: string) {
  return {
    type: 'string',
    title,
    description,
    maxLength: 2048,
    pattern: HTTP_URL_PATTERN,
    patternErrorMessage: 'must be an absolute http(s) URL, like https://relay.example.com',
  } as const
}

function duration(title: string, description: string) {
  return {
    type: 'string',
    title,
    description,
    pattern: DURATION_PATTERN,
    patternErrorMessage: DURATION_MESSAGE,
    examples: ['90s', '30m', '2h', '1h30m', '1d'],
  } as const
}

/** The two kinds of step that are sent somewhere: a dispatch and a webhook. */
const sentStepProperties = {
  dispatch: {
    type: 'object',
    title: 'repository_dispatch step',
    description:
      'Triggers `repository_dispatch` on a GitHub repository; its workflow reports back with the hookchain Action.',
    properties: {
      repository: {
        type: 'string',
        title: 'Repository',
        description: 'The GitHub repository to dispatch to, as owner/name.',
        pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$',
        patternErrorMessage: 'must be owner/name, like acme/app',
        examples: ['acme/integration-tests'],
      },
      event_type: {
        type: 'string',
        title: 'Event type',
        description:
          'The `event_type` of the dispatch, which the workflow selects with `on: repository_dispatch: types: [...]`.',
        minLength: 1,
        maxLength: EVENT_TYPE_MAX,
        examples: ['image-pushed'],
      },
    },
    required: ['repository', 'event_type'],
    additionalProperties: false,
    nullable: true,
  },
  webhook: {
    type: 'object',
    title: 'Webhook step',
    description:
      "POSTs a Docker Hub-style payload to a URL; the payload's `callback_url` is where the service reports back.",
    properties: {
      url: httpUrl('URL', 'Where the payload is POSTed.'),
      secret: {
        type: 'string',
        title: 'Signing secret',
        description: `Signs each delivery with Standard Webhooks headers (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`). A Standard Webhooks secret (\`whsec_\` and the base64 of 24 to 64 random bytes; generate one with \`echo whsec_$(openssl rand -base64 32)\`), or any other string of at least ${SECRET_MIN_LENGTH} characters, used as its UTF-8 bytes. Leave it out to send unsigned.`,
        pattern: `^(?:whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?!whsec_)[\\s\\S]{${SECRET_MIN_LENGTH},})$`,
        patternErrorMessage: `must be a Standard Webhooks secret (whsec_ and the base64 of at least 24 random bytes; generate one with: echo whsec_$(openssl rand -base64 32)) or any other string of at least ${SECRET_MIN_LENGTH} characters`,
        writeOnly: true,
        nullable: true,
      },
    },
    required: ['url'],
    additionalProperties: false,
    nullable: true,
  },
} as const

const sentStepSchema = {
  type: 'object',
  title: 'Sent step',
  description:
    'A step that is sent somewhere: `dispatch` (a repository_dispatch to a GitHub repository) or `webhook` (a POST to a URL). It ends when its workflow or service calls back.',
  properties: sentStepProperties,
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
} as unknown as JSONSchemaType<RawSentStep>

const stepSchema = {
  type: 'object',
  title: 'Step',
  description:
    'One step of the chain: `dispatch`, `webhook`, `parallel` (several sent at once) or `approval` (a person decides). A step that does not succeed stops the chain.',
  properties: {
    ...sentStepProperties,
    parallel: {
      type: 'object',
      title: 'Parallel group',
      description:
        'Sends every step of `steps` at once, each with its own callback URL. `require: all` (the default) succeeds when every branch has, and ends at the first that does not; `any` succeeds at the first branch that does, and fails only when every branch has. The branches left running are cancelled.',
      properties: {
        require: {
          type: 'string',
          title: 'Require',
          description: '`all` branches to succeed, or `any` one.',
          enum: ['all', 'any'],
          default: 'all',
          nullable: true,
        },
        steps: {
          type: 'array',
          title: 'Branches',
          description: 'The steps sent at once: dispatches and webhooks.',
          items: sentStepSchema,
          minItems: 1,
        },
      },
      required: ['steps'],
      additionalProperties: false,
      nullable: true,
    },
    approval: {
      type: 'object',
      title: 'Approval',
      description:
        'Waits for a person to approve or reject, on the run page or with POST /api/runs/<id>/steps/<n>/approve (or /reject). Rejected, the run fails; undecided within the timeout, it errs.',
      properties: {
        timeout: {
          ...duration('Timeout', 'How long to wait for the decision (1m to 30d).'),
          default: DEFAULT_APPROVAL_TIMEOUT,
          nullable: true,
        },
      },
      additionalProperties: false,
      nullable: true,
    },
  },
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
} as unknown as JSONSchemaType<RawStep>

function notifyUrl(title: string, description: string) {
  return {
    type: 'object',
    title,
    description,
    properties: {
      webhook_url: {
        ...httpUrl('Webhook URL', 'The incoming webhook URL; it is a secret.'),
        writeOnly: true,
      },
    },
    required: ['webhook_url'],
    additionalProperties: false,
    nullable: true,
  } as const
}

const notifySchema = {
  type: 'object',
  title: 'Notification target',
  description:
    'Where to tell people how runs end: one of `slack`, `teams`, `discord` or `webhook`, and `on`, the events it wants. Notifications never change a run.',
  properties: {
    slack: notifyUrl('Slack', 'A Slack incoming webhook.'),
    teams: notifyUrl('Microsoft Teams', 'A Teams incoming webhook (or workflow) URL.'),
    discord: notifyUrl('Discord', 'A Discord channel webhook.'),
    webhook: {
      type: 'object',
      title: 'Webhook',
      description:
        'POSTs a JSON message, signed with Standard Webhooks headers when it has a secret.',
      properties: {
        url: httpUrl('URL', 'Where the message is POSTed.'),
        secret: sentStepProperties.webhook.properties.secret,
      },
      required: ['url'],
      additionalProperties: false,
      nullable: true,
    },
    on: {
      type: 'array',
      title: 'On',
      description: `The events that are sent: ${NOTIFY_EVENTS.map((e) => `\`${e}\``).join(', ')} (\`approval\`: an approval waits for its decision).`,
      items: { type: 'string', enum: [...NOTIFY_EVENTS] },
      minItems: 1,
      uniqueItems: true,
      default: DEFAULT_NOTIFY_EVENTS,
      nullable: true,
    },
  },
  additionalProperties: false,
} as unknown as JSONSchemaType<RawNotifyTarget>

const chainSchema: JSONSchemaType<RawChain> = {
  type: 'object',
  title: 'Chain',
  description: 'Which pushes start this chain, and the steps that run one after the other.',
  properties: {
    name: {
      type: 'string',
      title: 'Name',
      description:
        'Unique name of the chain, shown in the history and sent to each step as `client_payload.chain`.',
      pattern: CHAIN_NAME_PATTERN,
      patternErrorMessage:
        'must be 1 to 100 letters, digits, dots, underscores or dashes, starting with a letter or digit',
      examples: ['release'],
    },
    match: {
      type: 'object',
      title: 'Match',
      description: 'The pushes that start this chain.',
      properties: {
        repository: {
          type: 'string',
          title: 'Repository',
          description:
            'Glob over the image repository without its registry (`acme/app`, `acme/*`), or with it to pin a registry (`docker.io/acme/app`). No tag here: tags go in `tags`.',
          pattern: '^[^\\s/:]+(?::[0-9]+)?(?:/[^\\s/:]+)*$',
          patternErrorMessage:
            'must be a repository or a glob, like acme/app, acme/* or docker.io/acme/app (no scheme, no :tag)',
          examples: ['acme/app', 'acme/*', 'ghcr.io/acme/app'],
        },
        tags: {
          type: 'array',
          title: 'Tags',
          description:
            'Globs over the tag (`v*`, `latest`); one starting with `!` excludes the tags it matches from what the others take (`["v*", "!*-rc*"]`), and a list of exclusions alone takes every tag but those. Leave out to take every tag. Tags that only carry signatures, attestations or SBOMs (cosign\'s `sha256-<digest>.sig`, `.att`, `.sbom`, and the OCI referrers fallback tag `sha256-<digest>`) start a run only when a pattern names them explicitly: one that starts with `sha256-` or ends in `.sig`, `.att` or `.sbom` (`sha256-*.sig`); `*` alone never does (`check` warns about patterns such as `sha256*` that match them without naming them), and a delivery of nothing but such tags is recorded as ignored.',
          items: {
            type: 'string',
            title: 'Tag glob',
            description:
              'A tag, or a glob over tags such as `v*`; with a leading `!`, the tags to leave out (`!*-rc*`).',
            pattern: '^!?[^\\s!]\\S{0,127}$',
            patternErrorMessage:
              'must be a tag or a glob over tags, like v* or latest, or one with a single leading ! for the tags to leave out, like !*-rc*',
          },
          minItems: 1,
          nullable: true,
        },
      },
      required: ['repository'],
      additionalProperties: false,
    },
    step_timeout: {
      ...duration(
        'Step timeout',
        'How long a step may take to call back before it ends as `error` and the chain stops (1s to 7d).',
      ),
      default: DEFAULT_STEP_TIMEOUT,
      nullable: true,
    },
    steps: {
      type: 'array',
      title: 'Steps',
      description: 'Run in order; a step that does not report success stops the chain.',
      items: stepSchema,
      minItems: 1,
    },
    on_failure: {
      type: 'array',
      title: 'On failure',
      description:
        "Steps run once, in order, when a run ends as failure or error (not when it is cancelled): a rollback, say. Their client_payload.image.previous is the last image this chain succeeded for in the same repository. They do not change the run's state.",
      items: sentStepSchema,
      minItems: 1,
      nullable: true,
    },
    notify: {
      type: 'array',
      title: 'Notify',
      description: 'Who is told when runs end, or wait for an approval.',
      items: notifySchema,
      minItems: 1,
      nullable: true,
    },
    start: {
      type: 'object',
      title: 'Start',
      description:
        "Lets workflows start this chain for an image they built: the hookchain Action's start mode calls `POST /api/chains/<name>/runs` with the job's GitHub OIDC token, which the relay checks against `github.oidc`. Without `start`, only the admin token may start the chain by hand.",
      properties: {
        repositories: {
          type: 'array',
          title: 'Repositories',
          description:
            'The repositories whose workflows may start the chain, as owner/name or globs over them (`acme/*`), compared with the `repository` claim of the token, ignoring case.',
          items: {
            type: 'string',
            title: 'Repository',
            description: 'owner/name, or a glob such as acme/*.',
            maxLength: 200,
            pattern: '^[^\\s/]+/[^\\s/]+$',
            patternErrorMessage: 'must be owner/name or a glob over them, like acme/app or acme/*',
          },
          minItems: 1,
        },
      },
      required: ['repositories'],
      additionalProperties: false,
      nullable: true,
    },
    report_to_commit: {
      type: 'object',
      title: 'Report to commit',
      description:
        "Sets each step's start and end, and the run's state, as commit statuses on the commit the image was built from: the one the start request names, GitHub Packages' labels, or the image's OCI labels `org.opencontainers.image.source` and `org.opencontainers.image.revision`, read from the registry (see `registries`). The GitHub token (or App) needs Commit statuses: write on that repository. The writes are paced with the dispatches and never hold up or fail the chain.",
      properties: {
        context: {
          type: 'string',
          title: 'Context',
          description:
            "The statuses' context: `{chain}` is the chain's name, `{step}` the step's (`1`, `2.1` for a branch, `on_failure.1`), or `run` for the run's own status.",
          default: DEFAULT_COMMIT_CONTEXT,
          minLength: 1,
          maxLength: 100,
          examples: [DEFAULT_COMMIT_CONTEXT, 'deploy/{step}'],
          nullable: true,
        },
      },
      additionalProperties: false,
      nullable: true,
    },
  },
  required: ['name', 'match', 'steps'],
  additionalProperties: false,
}

export const configSchema: JSONSchemaType<RawConfig> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: CONFIG_SCHEMA_ID,
  title: 'hookchain relay configuration',
  description: `hookchain.yml: where registry push events come from, and the chains of GitHub repositories they start. \`\${NAME}\` is replaced by the environment variable NAME, \`\${NAME:-default}\` falls back to default, \`$\${\` is a literal \`\${\`.`,
  type: 'object',
  properties: {
    public_url: {
      ...httpUrl(
        'Public URL',
        "Base URL at which steps and registries reach this relay; callback URLs handed to steps start with it. Leave it out to use the relay's own listening address, `http://localhost:<port>`, which only this machine reaches: enough for a trial, not for registries and GitHub runners elsewhere. The relay warns at start when a loopback public_url names another port than the one it listens on.",
      ),
      nullable: true,
    },
    admin_token: {
      ...secretSetting(
        'Admin token',
        'Guards /api and the web pages (`Authorization: Bearer <token>`, or HTTP basic auth with the token as password). Without it, they answer only requests from loopback.',
      ),
      nullable: true,
    },
    github: {
      type: 'object',
      title: 'GitHub',
      description:
        'How the relay calls GitHub to dispatch steps: a token or a GitHub App, not both. Without either, dispatch steps end as `error`.',
      properties: {
        api_url: {
          ...httpUrl(
            'API URL',
            'GitHub REST API base: https://api.github.com, `https://HOST/api/v3` for GitHub Enterprise Server, or a test double.',
          ),
          default: DEFAULT_API_URL,
          nullable: true,
        },
        token: {
          type: 'string',
          title: 'Token',
          description:
            'A fine-grained token with Contents: read and write on the dispatched repositories (or a classic token with `repo`).',
          minLength: 1,
          writeOnly: true,
          nullable: true,
        },
        app: {
          type: 'object',
          title: 'GitHub App',
          description: 'Authenticate as an installation of a GitHub App, instead of a token.',
          properties: {
            app_id: {
              type: ['integer', 'string'],
              title: 'App ID',
              description: "The App ID (or the Client ID) from the GitHub App's settings page.",
              minimum: 1,
              minLength: 1,
            },
            private_key_file: {
              type: 'string',
              title: 'Private key file',
              description:
                "Path to the App's private key (.pem), relative to this config file's directory.",
              minLength: 1,
            },
            installation_id: {
              type: 'integer',
              title: 'Installation ID',
              description:
                'The installation on the account that owns the dispatched repositories (the number at the end of its settings URL).',
              minimum: 1,
            },
          },
          required: ['app_id', 'private_key_file', 'installation_id'],
          additionalProperties: false,
          nullable: true,
        },
        writes_per_minute: {
          type: 'integer',
          title: 'Writes per minute',
          description:
            "Most dispatches per minute, to stay under GitHub's secondary rate limit on content-creating requests; 0 = unpaced.",
          minimum: 0,
          maximum: MAX_WRITES_PER_MINUTE,
          default: DEFAULT_WRITES_PER_MINUTE,
          nullable: true,
        },
        oidc: {
          type: 'object',
          title: 'OIDC',
          description:
            "Whose OIDC tokens may start chains from a workflow (a chain's `start`): the job's token must be signed by the issuer, whose keys are found by OpenID discovery, and be for the audience.",
          properties: {
            issuer: {
              type: 'string',
              title: 'Issuer',
              description: `${DEFAULT_OIDC_ISSUER} for github.com; \`https://HOST/_services/token\` for GitHub Enterprise Server. Plain http only on loopback, for tests.`,
              default: DEFAULT_OIDC_ISSUER,
              maxLength: 2048,
              pattern: ISSUER_URL_PATTERN,
              patternErrorMessage: ISSUER_URL_MESSAGE,
              nullable: true,
            },
            audience: {
              type: 'string',
              title: 'Audience',
              description:
                "The `aud` the tokens must carry: the Action's `audience` input asks the runner for it.",
              default: DEFAULT_OIDC_AUDIENCE,
              minLength: 1,
              maxLength: 256,
              pattern: '^\\S+$',
              patternErrorMessage: 'must be one word, without spaces, like hookchain',
              nullable: true,
            },
          },
          additionalProperties: false,
          default: {},
          nullable: true,
        },
      },
      not: { required: ['token', 'app'] },
      additionalProperties: false,
      default: {},
      nullable: true,
    },
    sources: {
      type: 'object',
      title: 'Sources',
      description:
        'The registries that may send push events; each one present is enabled at POST /hooks/<source>.',
      properties: sourceBlocks(),
      additionalProperties: false,
      default: {},
      nullable: true,
    } as unknown as { $ref: string },
    registry_callbacks: {
      type: 'object',
      title: 'Registry callbacks',
      description:
        "Where a registry's own callback_url (Docker Hub's) may be called with the run's result when the run ends.",
      properties: {
        allowed_hosts: {
          type: 'array',
          title: 'Allowed hosts',
          description:
            'Host names (with an optional :port) whose callback URLs the relay calls; any other is recorded and skipped.',
          items: {
            type: 'string',
            title: 'Host',
            description: 'A host name such as registry.hub.docker.com.',
            pattern:
              '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$',
            patternErrorMessage:
              'must be a host name such as registry.hub.docker.com (no scheme, no path)',
          },
          default: [],
          nullable: true,
        },
        allow_http: {
          type: 'boolean',
          title: 'Allow plain HTTP',
          description: 'Also call http:// callback URLs; only for registries on a trusted network.',
          default: false,
          nullable: true,
        },
      },
      additionalProperties: false,
      default: {},
      nullable: true,
    },
    registries: {
      type: 'array',
      title: 'Registries',
      description:
        "How the relay reads images through a registry's HTTP API: to pin a pushed tag to its digest, and to find the source commit in the OCI labels. A registry not listed is read anonymously over https, and only at public addresses.",
      items: {
        type: 'object',
        title: 'Registry',
        description: 'A registry host and the credentials to read it with.',
        properties: {
          host: {
            type: 'string',
            title: 'Host',
            description:
              'The registry as image references name it, with its port if any: `registry.example.com:5000`, `ghcr.io`, `docker.io`.',
            maxLength: 255,
            pattern: REGISTRY_HOST_PATTERN,
            patternErrorMessage:
              'must be a registry host such as registry.example.com:5000 (no scheme, no path)',
          },
          username: {
            type: 'string',
            title: 'Username',
            description: 'Who reads the images (pull access is enough).',
            minLength: 1,
            nullable: true,
          },
          password: {
            type: 'string',
            title: 'Password',
            description: 'Its password or access token, with `username`.',
            minLength: 1,
            writeOnly: true,
            nullable: true,
          },
          http: {
            type: 'boolean',
            title: 'Plain HTTP',
            description:
              'Read over plain http rather than https: only for a registry on a trusted network.',
            default: false,
            nullable: true,
          },
        },
        required: ['host'],
        additionalProperties: false,
      },
      default: [],
      nullable: true,
    },
    retention: {
      type: 'object',
      title: 'Retention',
      description: 'How long the history is kept. Pruned in the background, in small batches.',
      properties: {
        max_age: {
          type: 'string',
          title: 'Maximum age',
          description: `Ended runs and events older than this are deleted (at least 1h); \`${FOREVER}\` keeps them all.`,
          pattern: `^(?:${FOREVER}|${DURATION_PATTERN.slice(1, -1)})$`,
          patternErrorMessage: `must be a duration such as 90d or 2160h, or ${FOREVER}`,
          examples: ['90d', '30d', FOREVER],
          default: DEFAULT_RETENTION,
          nullable: true,
        },
        rejected_payloads: {
          ...duration(
            'Rejected payloads',
            'The bodies of deliveries the relay authenticated but could not read are emptied after this (at least 1h); the event and why it was rejected stay.',
          ),
          default: DEFAULT_REJECTED_PAYLOAD_RETENTION,
          nullable: true,
        },
      },
      additionalProperties: false,
      default: {},
      nullable: true,
    },
    limits: {
      type: 'object',
      title: 'Limits',
      description: 'Bounds on what one request can make the relay do.',
      properties: {
        runs_per_delivery: {
          type: 'integer',
          title: 'Runs per delivery',
          description:
            'Most runs one delivery starts (a registry may name many tags in one); the rest are recorded as cut, in the event.',
          minimum: 1,
          maximum: 10_000,
          default: DEFAULT_RUNS_PER_DELIVERY,
          nullable: true,
        },
      },
      additionalProperties: false,
      default: {},
      nullable: true,
    },
    metrics: {
      type: 'object',
      title: 'Metrics',
      description: 'The Prometheus endpoint, GET /metrics.',
      properties: {
        require_admin_token: {
          type: 'boolean',
          title: 'Require the admin token',
          description:
            "Answer /metrics only with the admin token (Authorization: Bearer <token>; set it as the scrape job's bearer token). Default: open, as Prometheus expects.",
          default: false,
          nullable: true,
        },
      },
      additionalProperties: false,
      default: {},
      nullable: true,
    },
    chains: {
      type: 'array',
      title: 'Chains',
      description: 'Empty or left out: every event is recorded as unmatched.',
      items: chainSchema,
      default: [],
      nullable: true,
    },
  },
  required: [],
  additionalProperties: false,
}

/** `sources`: one block per registry, as each source declares it. */
function sourceBlocks() {
  return Object.fromEntries(
    SOURCES.map((source) => [
      source.name,
      {
        type: 'object',
        title: source.title,
        ...source.config.schema,
        additionalProperties: false,
        nullable: true,
      },
    ]),
  )
}
