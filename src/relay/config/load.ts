import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { getErrorMessage } from '../../shared/errors.js'
import { SOURCES } from '../sources/index.js'
import { parseDuration } from './duration.js'
import { type ConfigPath, formatPath, isMapping } from './path.js'
import { ConfigError, type ConfigProblem } from './problems.js'
import { checkRules, readPrivateKey } from './rules.js'
import {
  DEFAULT_API_URL,
  DEFAULT_APPROVAL_TIMEOUT,
  DEFAULT_COMMIT_CONTEXT,
  DEFAULT_NOTIFY_EVENTS,
  DEFAULT_OIDC_AUDIENCE,
  DEFAULT_OIDC_ISSUER,
  DEFAULT_REJECTED_PAYLOAD_RETENTION,
  DEFAULT_RETENTION,
  DEFAULT_RUNS_PER_DELIVERY,
  DEFAULT_STEP_TIMEOUT,
  DEFAULT_WRITES_PER_MINUTE,
  FOREVER,
  type RawConfig,
  type RawNotifyTarget,
  type RawSentStep,
  type RawStep,
} from './schema.js'
import type { GitHubAuth, NotifyTarget, SentStepSpec, Settings, StepSpec } from './settings.js'
import { describeSources, type Environment, substituteEnv } from './substitute.js'
import {
  convertSubstituted,
  findEmptyValues,
  isSecretPath,
  type PathProblem,
  secretValues,
  validateSchema,
} from './validate.js'
import { parseYaml } from './yaml-text.js'

export { ConfigError, type ConfigProblem, formatConfigProblems } from './problems.js'
export { settingsWarnings } from './warnings.js'

export interface ParseOptions {
  env: Environment
  /** Relative paths in the file (the GitHub App's private key) start here. */
  baseDir: string
  readFile?: (path: string) => string
  /** Names the file in error messages. */
  file?: string
}

/**
 * Turns the text of a config file into `Settings`: YAML, then `${NAME}` substitution in string
 * values, then the schema and its defaults, then the rules between fields. Throws `ConfigError`
 * with every problem found. Reads nothing but the GitHub App's private key file.
 */
export function parseSettings(text: string, options: ParseOptions): Settings {
  const file = options.file ?? 'config'
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))

  const yaml = parseYaml(text)
  if (yaml.problems.length > 0) throw new ConfigError(yaml.problems, file)
  if (yaml.value === null || yaml.value === undefined) {
    throw new ConfigError(
      [
        {
          path: '',
          message:
            'is empty: it needs at least a source and a chain (`hookchain-relay init` writes a starter file)',
        },
      ],
      file,
    )
  }

  const substitution = substituteEnv(yaml.value, options.env, isSecretPath)
  const document = substitution.value
  for (const { path } of substitution.substituted) convertSubstituted(document, path)

  // A value that is missing or empty is reported once, not again by every check that reads it.
  const primary = [...substitution.problems, ...findEmptyValues(document)]
  const hidden = primary.map((p) => formatPath(p.path))
  const origins = new Map(substitution.substituted.map((s) => [formatPath(s.path), s.sources]))
  const problems: PathProblem[] = [...primary]
  for (const problem of [...validateSchema(document), ...checkRules(document)]) {
    const path = formatPath(problem.path)
    if (hidden.some((h) => path === h || isBelow(path, h))) continue
    const sources = origins.get(path)
    problems.push(
      sources ? { ...problem, message: `${problem.message} ${describeSources(sources)}` } : problem,
    )
  }

  const raw = document as RawConfig
  let privateKey: string | null = null
  const keyFile = raw.github?.app?.private_key_file
  if (typeof keyFile === 'string' && keyFile !== '') {
    const read = readPrivateKey(resolve(options.baseDir, keyFile), readFile)
    if ('key' in read) privateKey = read.key
    else problems.push({ path: ['github', 'app', 'private_key_file'], message: read.problem })
  }

  if (problems.length > 0) throw new ConfigError(inDocumentOrder(problems, document), file)
  const secrets = [...secretValues(document), ...(privateKey === null ? [] : [privateKey])]
  return { ...toSettings(raw, privateKey), secrets }
}

/** Reads and parses a config file; relative paths inside it start at its directory. */
export function loadSettings(path: string, env: Environment = process.env): Settings {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(
      [{ path: '', message: `cannot be read: ${getErrorMessage(error)}` }],
      path,
    )
  }
  return parseSettings(text, { env, baseDir: dirname(resolve(path)), file: path })
}

/** Problems sorted as their places appear in the file, each reported once. */
function inDocumentOrder(problems: readonly PathProblem[], document: unknown): ConfigProblem[] {
  const ranks = new Map<string, number>()
  const visit = (node: unknown, path: ConfigPath): void => {
    ranks.set(formatPath(path), ranks.size)
    const children: [string | number, unknown][] = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : isMapping(node)
        ? Object.entries(node)
        : []
    for (const [key, item] of children) visit(item, [...path, key])
  }
  visit(document, [])
  // A missing key sorts just after its parent.
  const rank = (path: ConfigPath) => {
    for (let n = path.length; n >= 0; n--) {
      const found = ranks.get(formatPath(path.slice(0, n)))
      if (found !== undefined) return n === path.length ? found : found + 0.5
    }
    return Number.POSITIVE_INFINITY
  }
  const sorted = [...problems]
    .sort((a, b) => rank(a.path) - rank(b.path))
    .map(({ path, message }) => ({ path: formatPath(path), message }))
  return sorted.filter(
    (p, i) => sorted.findIndex((q) => q.path === p.path && q.message === p.message) === i,
  )
}

function isBelow(path: string, ancestor: string): boolean {
  return ancestor === '' || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`)
}

function toSettings(raw: RawConfig, privateKey: string | null): Omit<Settings, 'secrets'> {
  const github = raw.github ?? {}
  let auth: GitHubAuth | null = null
  if (github.token !== undefined) auth = { kind: 'token', token: github.token }
  if (github.app && privateKey !== null) {
    auth = {
      kind: 'app',
      appId: String(github.app.app_id),
      privateKey,
      installationId: github.app.installation_id,
    }
  }
  const blocks = raw.sources ?? {}
  const enabled = SOURCES.filter((source) => blocks[source.name])
  const sourceBlocks = Object.fromEntries(
    enabled.map((source) => [source.name, blocks[source.name] as Record<string, unknown>]),
  )
  const sources = Object.fromEntries(
    enabled.map((source) => [source.name, source.config.read(sourceBlocks[source.name] ?? {})]),
  )

  const callbacks = raw.registry_callbacks ?? {}
  const maxAge = raw.retention?.max_age ?? DEFAULT_RETENTION
  return {
    publicUrl: raw.public_url === undefined ? null : withoutTrailingSlash(raw.public_url),
    adminToken: raw.admin_token ?? null,
    github: {
      apiUrl: withoutTrailingSlash(github.api_url ?? DEFAULT_API_URL),
      auth,
      writesPerMinute: github.writes_per_minute ?? DEFAULT_WRITES_PER_MINUTE,
      oidc: {
        issuer: github.oidc?.issuer ?? DEFAULT_OIDC_ISSUER,
        audience: github.oidc?.audience ?? DEFAULT_OIDC_AUDIENCE,
      },
    },
    sources,
    sourceBlocks,
    registryCallbacks: {
      allowedHosts: [...new Set((callbacks.allowed_hosts ?? []).map((h) => h.toLowerCase()))],
      allowHttp: callbacks.allow_http ?? false,
    },
    registries: (raw.registries ?? []).map((registry) => ({
      host: registry.host.toLowerCase(),
      username: registry.username ?? null,
      password: registry.password ?? null,
      http: registry.http ?? false,
    })),
    chains: (raw.chains ?? []).map((chain) => ({
      name: chain.name,
      match: { repository: chain.match.repository, tags: chain.match.tags ?? null },
      stepTimeoutMs: durationMs(chain.step_timeout ?? DEFAULT_STEP_TIMEOUT),
      steps: chain.steps.map(toStep),
      onFailure: (chain.on_failure ?? []).map(toSentStep),
      notify: (chain.notify ?? []).map(toNotifyTarget),
      start: chain.start ? { repositories: chain.start.repositories } : null,
      reportToCommit: chain.report_to_commit
        ? { context: chain.report_to_commit.context ?? DEFAULT_COMMIT_CONTEXT }
        : null,
    })),
    retentionMs: maxAge === FOREVER ? null : durationMs(maxAge),
    rejectedPayloadMs: durationMs(
      raw.retention?.rejected_payloads ?? DEFAULT_REJECTED_PAYLOAD_RETENTION,
    ),
    runsPerDelivery: raw.limits?.runs_per_delivery ?? DEFAULT_RUNS_PER_DELIVERY,
    metricsRequireAdmin: raw.metrics?.require_admin_token ?? false,
  }
}

function toStep(step: RawStep): StepSpec {
  if (step.parallel) {
    return {
      kind: 'parallel',
      require: step.parallel.require ?? 'all',
      branches: step.parallel.steps.map(toSentStep),
    }
  }
  if (step.approval) {
    return {
      kind: 'approval',
      timeoutMs: durationMs(step.approval.timeout ?? DEFAULT_APPROVAL_TIMEOUT),
    }
  }
  return toSentStep(step)
}

function toSentStep(step: RawSentStep): SentStepSpec {
  if (step.dispatch) {
    return {
      kind: 'dispatch',
      repository: step.dispatch.repository,
      eventType: step.dispatch.event_type,
    }
  }
  const webhook = step.webhook as NonNullable<typeof step.webhook>
  return { kind: 'webhook', url: webhook.url, secret: webhook.secret ?? null }
}

function toNotifyTarget(target: RawNotifyTarget): NotifyTarget {
  const on = [...(target.on ?? DEFAULT_NOTIFY_EVENTS ?? [])]
  if (target.webhook) {
    return { kind: 'webhook', url: target.webhook.url, secret: target.webhook.secret ?? null, on }
  }
  for (const kind of ['slack', 'teams', 'discord'] as const) {
    const chat = target[kind]
    if (chat) return { kind, url: chat.webhook_url, on }
  }
  throw new Error('BUG: a notify target passed validation without a kind')
}

function durationMs(text: string): number {
  const ms = parseDuration(text)
  if (ms === null) throw new Error(`BUG: ${text} passed validation but is not a duration`)
  return ms
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '')
}
