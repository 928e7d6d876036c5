import { createPrivateKey } from 'node:crypto'
import { getErrorMessage } from '../../shared/errors.js'
import { globProblem } from '../model/glob.js'
import { formatDuration, parseDuration } from './duration.js'
import { type ConfigPath, isMapping } from './path.js'
import { COMMIT_CONTEXT_PLACEHOLDERS, HTTP_URL_PATTERN } from './schema.js'
import type { PathProblem } from './validate.js'

export const STEP_TIMEOUT_MIN_MS = 1_000
export const STEP_TIMEOUT_MAX_MS = 7 * 86_400_000
export const RETENTION_MIN_MS = 3_600_000
export const APPROVAL_TIMEOUT_MIN_MS = 60_000
export const APPROVAL_TIMEOUT_MAX_MS = 30 * 86_400_000
const NOTIFY_KINDS = ['slack', 'teams', 'discord', 'webhook']

/**
 * The rules a JSON Schema cannot state: duration bounds, URLs that parse, unique chain names.
 * They run even when the schema found problems, so each looks only at values of the right type.
 */
export function checkRules(config: unknown): PathProblem[] {
  if (!isMapping(config)) return []
  const problems: PathProblem[] = []
  const github = isMapping(config.github) ? config.github : {}

  checkUrl(config.public_url, ['public_url'], problems, { baseOnly: true })
  checkUrl(github.api_url, ['github', 'api_url'], problems, { baseOnly: true })

  const retention = isMapping(config.retention) ? config.retention : {}
  checkDuration(retention.max_age, ['retention', 'max_age'], problems, RETENTION_MIN_MS, null)
  checkDuration(
    retention.rejected_payloads,
    ['retention', 'rejected_payloads'],
    problems,
    RETENTION_MIN_MS,
    null,
  )

  checkRegistries(config.registries, problems)

  const chains = Array.isArray(config.chains) ? config.chains : []
  const firstIndexOf = new Map<string, number>()
  chains.forEach((chain: unknown, i) => {
    if (!isMapping(chain)) return
    if (typeof chain.name === 'string') {
      const first = firstIndexOf.get(chain.name)
      if (first === undefined) firstIndexOf.set(chain.name, i)
      else {
        problems.push({
          path: ['chains', i, 'name'],
          message: `'${chain.name}' is already the name of chains[${first}]: chain names must be unique`,
        })
      }
    }
    checkGlobs(chain.match, ['chains', i, 'match'], problems)
    if (isMapping(chain.start) && Array.isArray(chain.start.repositories)) {
      chain.start.repositories.forEach((glob: unknown, r) => {
        checkGlob(glob, ['chains', i, 'start', 'repositories', r], problems)
      })
    }
    const timeoutPath = ['chains', i, 'step_timeout']
    checkDuration(
      chain.step_timeout,
      timeoutPath,
      problems,
      STEP_TIMEOUT_MIN_MS,
      STEP_TIMEOUT_MAX_MS,
    )
    const steps = Array.isArray(chain.steps) ? chain.steps : []
    const checkWebhook = (step: unknown, path: (string | number)[]) => {
      if (isMapping(step) && isMapping(step.webhook)) {
        checkUrl(step.webhook.url, [...path, 'webhook', 'url'], problems, { baseOnly: false })
      }
    }
    steps.forEach((step: unknown, j) => {
      const path = ['chains', i, 'steps', j]
      checkWebhook(step, path)
      if (!isMapping(step)) return
      if (isMapping(step.parallel) && Array.isArray(step.parallel.steps)) {
        step.parallel.steps.forEach((branch: unknown, b) => {
          checkWebhook(branch, [...path, 'parallel', 'steps', b])
        })
      }
      if (isMapping(step.approval)) {
        checkDuration(
          step.approval.timeout,
          [...path, 'approval', 'timeout'],
          problems,
          APPROVAL_TIMEOUT_MIN_MS,
          APPROVAL_TIMEOUT_MAX_MS,
        )
      }
    })
    const onFailure = Array.isArray(chain.on_failure) ? chain.on_failure : []
    onFailure.forEach((step: unknown, j) => {
      checkWebhook(step, ['chains', i, 'on_failure', j])
    })
    if (isMapping(chain.report_to_commit)) {
      const path = ['chains', i, 'report_to_commit', 'context']
      problems.push(...checkContextTemplate(chain.report_to_commit.context, path))
    }
    const notify = Array.isArray(chain.notify) ? chain.notify : []
    notify.forEach((target: unknown, j) => {
      if (!isMapping(target)) return
      const kinds = NOTIFY_KINDS.filter((kind) => target[kind] !== undefined)
      if (kinds.length !== 1) {
        problems.push({
          path: ['chains', i, 'notify', j],
          message:
            kinds.length === 0
              ? `must name where to send: one of ${NOTIFY_KINDS.join(', ')}`
              : `must name one place to send, not ${kinds.join(' and ')}: write each as its own target`,
        })
      }
    })
  })
  return problems
}

/** Each registry once; a username goes with a password. */
function checkRegistries(registries: unknown, problems: PathProblem[]): void {
  if (!Array.isArray(registries)) return
  const firstIndexOf = new Map<string, number>()
  registries.forEach((registry: unknown, i) => {
    if (!isMapping(registry)) return
    if (typeof registry.host === 'string') {
      const host = registry.host.toLowerCase()
      const first = firstIndexOf.get(host)
      if (first === undefined) firstIndexOf.set(host, i)
      else {
        problems.push({
          path: ['registries', i, 'host'],
          message: `'${registry.host}' is already the host of registries[${first}]: list each registry once`,
        })
      }
    }
    const hasUser = registry.username !== undefined
    const hasPassword = registry.password !== undefined
    if (hasUser !== hasPassword) {
      problems.push({
        path: ['registries', i, hasUser ? 'password' : 'username'],
        message: hasUser
          ? 'is required with username'
          : 'is required with password: registries take both, or neither for anonymous reads',
      })
    }
  })
}

/** `{chain}` and `{step}` are the only placeholders of a status context. */
function checkContextTemplate(value: unknown, path: ConfigPath): PathProblem[] {
  if (typeof value !== 'string') return []
  const unknown = [...value.matchAll(/\{([^{}]*)\}/g)]
    .map((match) => match[1] ?? '')
    .filter((name) => !(COMMIT_CONTEXT_PLACEHOLDERS as readonly string[]).includes(name))
  if (unknown.length === 0) return []
  return [
    {
      path,
      message: `has the placeholder {${unknown[0]}}: only ${COMMIT_CONTEXT_PLACEHOLDERS.map((p) => `{${p}}`).join(' and ')} are replaced`,
    },
  ]
}

function checkUrl(
  value: unknown,
  path: ConfigPath,
  problems: PathProblem[],
  { baseOnly }: { baseOnly: boolean },
): void {
  if (typeof value !== 'string' || !new RegExp(HTTP_URL_PATTERN).test(value)) return
  let url: URL
  try {
    url = new URL(value)
  } catch {
    problems.push({ path, message: 'is not a valid URL' })
    return
  }
  if (baseOnly && (url.search || url.hash || value.includes('?') || value.includes('#'))) {
    problems.push({
      path,
      message: 'must not have a ?query or #fragment: it is a base that paths are added to',
    })
  }
}

function checkDuration(
  value: unknown,
  path: ConfigPath,
  problems: PathProblem[],
  minMs: number,
  maxMs: number | null,
): void {
  if (typeof value !== 'string') return
  const ms = parseDuration(value)
  if (ms === null) return
  if (ms < minMs || (maxMs !== null && ms > maxMs)) {
    problems.push({
      path,
      message:
        maxMs === null
          ? `must be at least ${formatDuration(minMs)}`
          : `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`,
    })
  }
}

/** Reads the GitHub App's private key, relative to the config file's directory. */
export function readPrivateKey(
  file: string,
  readFile: (path: string) => string,
): { key: string } | { problem: string } {
  let key: string
  try {
    key = readFile(file)
  } catch (error) {
    return { problem: `cannot read ${file}: ${getErrorMessage(error)}` }
  }
  try {
    createPrivateKey(key)
  } catch {
    return {
      problem: `${file} is not a PEM private key (download one from the GitHub App's settings page: "Generate a private key")`,
    }
  }
  return { key }
}

/** `match.repository` and `match.tags` must be globs the matcher takes. */
function checkGlobs(match: unknown, path: ConfigPath, problems: PathProblem[]): void {
  if (!isMapping(match)) return
  checkGlob(match.repository, [...path, 'repository'], problems)
  if (Array.isArray(match.tags)) {
    match.tags.forEach((tag: unknown, t) => {
      checkGlob(tag, [...path, 'tags', t], problems)
    })
  }
}

function checkGlob(pattern: unknown, path: ConfigPath, problems: PathProblem[]): void {
  if (typeof pattern !== 'string') return
  const problem = globProblem(pattern.replace(/^!/, ''))
  if (problem) problems.push({ path, message: `"${pattern}" is not a usable glob: ${problem}` })
}
