import { readFileSync } from 'node:fs'
import * as core from '@actions/core'
import { CALLBACK_STATES, type CallbackState, validateCallback } from '../shared/callback.js'
import { getErrorMessage } from '../shared/errors.js'
import {
  callbackUrlOfEvent,
  missingCallbackUrl,
  parseCallbackUrl,
  type RunEvent,
  secretsOfCallbackUrl,
} from './callback-url.js'
import { isJobStatus, JOB_STATUSES, type JobStatus } from './job-status.js'
import {
  readAudience,
  readChain,
  readIdTokenRequest,
  readImage,
  readRelayUrl,
  readSource,
  readWait,
  readWaitMs,
} from './start-inputs.js'
import { splitPatterns } from './test-result-patterns.js'
import { runUrl, workflowContext } from './workflow-run.js'

/** Every input of action.yml; nothing else in the Action reads an input. */
export const INPUT_NAMES = [
  'callback-url',
  'state',
  'job-status',
  'description',
  'context',
  'target-url',
  'test-results',
  'timeout-seconds',
  'retries',
  'relay-url',
  'chain',
  'image',
  'wait',
  'wait-minutes',
  'audience',
] as const
export type InputName = (typeof INPUT_NAMES)[number]

/** The defaults action.yml declares, applied here too when the Action runs without the runner. */
export const INPUT_DEFAULTS = {
  'timeout-seconds': '10',
  retries: '3',
  wait: 'false',
  'wait-minutes': '60',
  audience: 'hookchain',
} as const

/** Inputs that only mean something when reporting a callback (job-status has a default). */
const REPORT_INPUTS = [
  'callback-url',
  'state',
  'description',
  'context',
  'target-url',
  'test-results',
] as const satisfies readonly InputName[]
/** Inputs that only mean something when starting a chain. */
const START_INPUTS = [
  'relay-url',
  'image',
  'wait',
  'wait-minutes',
  'audience',
] as const satisfies readonly InputName[]

export const MAX_TIMEOUT_SECONDS = 300
export const MAX_RETRIES = 10
const DEFAULT_BACKOFF_MS = 1000
/** action.yml's default for job-status, as a user writes it in a workflow. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
export const JOB_STATUS_EXPRESSION = '${{ job.status }}'

/** What both modes share: how to talk to the relay. */
interface ConnectionSettings {
  /** Per attempt. */
  timeoutMs: number
  /** Retries after the first attempt. */
  retries: number
  /** The delay before the first retry, doubled for each later one (with jitter). */
  backoffMs: number
}

export type Settings = ReportSettings | StartSettings

/** Report mode: send this job's result to the callback URL of a chain step. */
export interface ReportSettings extends ConnectionSettings {
  mode: 'report'
  callbackUrl: URL
  /** The `state` input; `null` derives the state from the job status and the test results. */
  state: CallbackState | null
  jobStatus: JobStatus | null
  description: string | null
  context: string | null
  targetUrl: string | null
  /** Glob patterns of JUnit XML files; empty when none were given. */
  testResults: string[]
}

/** Start mode (`chain` given): start a chain on the relay for an image, and maybe wait for it. */
export interface StartSettings extends ConnectionSettings {
  mode: 'start'
  /** The relay's base URL. */
  relayUrl: URL
  chain: string
  /** The image reference, trimmed. */
  image: string
  /** This workflow run's repository (`owner/name`) and commit. */
  source: { repository: string; sha: string }
  wait: boolean
  /** How long to wait for the chain to end, from its start. */
  waitMs: number
  /** Where and how to ask the runner for the job's OIDC token. */
  idToken: { requestUrl: string; requestToken: string; audience: string }
  /** Things the user should fix, though the chain can still start. */
  warnings: string[]
}

/** One or more inputs are wrong; the message has one line per problem. */
export class SettingsError extends Error {
  override name = 'SettingsError'
}

/**
 * Reads and checks every input (`INPUT_*`) once, with the defaults that the runner's `GITHUB_*`
 * variables give: start mode when `chain` is given, else report mode. The callback URL's secret
 * part is masked in the log here, as soon as it is known.
 */
export function getSettings(): Settings {
  const input = Object.fromEntries(
    INPUT_NAMES.map((name) => [name, core.getInput(name)]),
  ) as Record<InputName, string>
  const problems: string[] = []
  const check = <T>(read: () => T): T | null => {
    try {
      return read()
    } catch (error) {
      problems.push(getErrorMessage(error))
      return null
    }
  }
  const settings =
    input.chain === ''
      ? readReportSettings(input, process.env, problems, check)
      : readStartSettings(input, process.env, problems, check)
  if (settings === null || problems.length > 0) throw new SettingsError(problems.join('\n'))
  return settings
}

type Check = <T>(read: () => T) => T | null

function readConnection(
  input: Record<InputName, string>,
  env: NodeJS.ProcessEnv,
  check: Check,
): ConnectionSettings | null {
  const timeoutMs = check(() => readTimeoutMs(input['timeout-seconds']))
  const retries = check(() => readRetries(input.retries))
  const backoffMs = check(() => readBackoffMs(env.HOOKCHAIN_BACKOFF_MS))
  if (timeoutMs === null || retries === null) return null
  return { timeoutMs, retries, backoffMs: backoffMs ?? DEFAULT_BACKOFF_MS }
}

function readReportSettings(
  input: Record<InputName, string>,
  env: NodeJS.ProcessEnv,
  problems: string[],
  check: Check,
): ReportSettings | null {
  const callbackUrl = check(() => readCallbackUrl(input['callback-url'], env))
  if (callbackUrl) for (const secret of secretsOfCallbackUrl(callbackUrl)) core.setSecret(secret)
  const state = check(() => readState(input.state))
  const jobStatus = check(() => readJobStatus(input['job-status']))
  if (input.state === '' && input['job-status'] === '') {
    problems.push(
      'Neither the state input nor job-status is set: set state to one of ' +
        `${CALLBACK_STATES.join(', ')}, or leave job-status at its default ${JOB_STATUS_EXPRESSION}.`,
    )
  }
  const targetUrl = check(() => readTargetUrl(input['target-url'])) ?? runUrl(env)
  const connection = readConnection(input, env, check)
  const startOnly = START_INPUTS.filter((name) => !isDefault(input, name))
  if (startOnly.length > 0) {
    problems.push(
      `${inputList(startOnly)} ${startOnly.length === 1 ? 'is' : 'are'} for starting a chain: set chain too, or remove ${startOnly.length === 1 ? 'it' : 'them'} to report a callback.`,
    )
  }
  if (!callbackUrl || !connection) return null
  return {
    mode: 'report',
    callbackUrl,
    state,
    jobStatus,
    description: input.description || null,
    context: input.context || workflowContext(env),
    targetUrl,
    testResults: splitPatterns(input['test-results']),
    ...connection,
  }
}

function readStartSettings(
  input: Record<InputName, string>,
  env: NodeJS.ProcessEnv,
  problems: string[],
  check: Check,
): StartSettings | null {
  const reportOnly = REPORT_INPUTS.filter((name) => input[name] !== '')
  if (reportOnly.length > 0) {
    problems.push(
      `${inputList(reportOnly)} do${reportOnly.length === 1 ? 'es' : ''} not mix with chain: with chain set, the Action starts a chain and reports no callback. ` +
        'Report from a separate step, or remove chain.',
    )
  }
  const relay = check(() => readRelayUrl(input['relay-url']))
  const chain = check(() => readChain(input.chain))
  const image = check(() => readImage(input.image))
  const wait = check(() => readWait(input.wait))
  const waitMs = check(() => readWaitMs(input['wait-minutes'], INPUT_DEFAULTS['wait-minutes']))
  const audience = check(() => readAudience(input.audience, INPUT_DEFAULTS.audience))
  const source = check(() => readSource(env))
  const idTokenRequest = check(() => readIdTokenRequest(env))
  const connection = readConnection(input, env, check)
  if (
    !relay ||
    !chain ||
    !image ||
    wait === null ||
    waitMs === null ||
    !audience ||
    !source ||
    !idTokenRequest ||
    !connection
  ) {
    return null
  }
  return {
    mode: 'start',
    relayUrl: relay.url,
    chain,
    image: image.image,
    source,
    wait,
    waitMs,
    idToken: { requestUrl: idTokenRequest.url, requestToken: idTokenRequest.token, audience },
    warnings: [relay.warning, image.warning].filter((warning) => warning !== null),
    ...connection,
  }
}

/** An input left empty, or at the default action.yml gives it. */
function isDefault(input: Record<InputName, string>, name: InputName): boolean {
  const fallback = (INPUT_DEFAULTS as Partial<Record<InputName, string>>)[name]
  return input[name] === '' || input[name] === fallback
}

function inputList(names: readonly InputName[]): string {
  return names.length === 1
    ? `Input "${names[0]}"`
    : `Inputs ${names.map((n) => `"${n}"`).join(', ')}`
}

function readCallbackUrl(raw: string, env: NodeJS.ProcessEnv): URL {
  if (raw !== '') return parseCallbackUrl(raw, 'Input "callback-url"')
  const event = readRunEvent(env)
  const fromEvent = callbackUrlOfEvent(event)
  if (fromEvent === null) throw new Error(missingCallbackUrl(event))
  return parseCallbackUrl(fromEvent, 'client_payload.callback_url of the repository_dispatch event')
}

/** The event that started the run; a missing or unreadable event file counts as no event. */
function readRunEvent(env: NodeJS.ProcessEnv): RunEvent {
  const name = env.GITHUB_EVENT_NAME || null
  if (!env.GITHUB_EVENT_PATH) return { name, payload: null }
  try {
    return { name, payload: JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) }
  } catch {
    return { name, payload: null }
  }
}

function readState(raw: string): CallbackState | null {
  if (raw === '') return null
  const state = raw.toLowerCase()
  if (!(CALLBACK_STATES as readonly string[]).includes(state)) {
    throw new Error(`Input "state" must be one of ${CALLBACK_STATES.join(', ')} (got "${raw}").`)
  }
  return state as CallbackState
}

function readJobStatus(raw: string): JobStatus | null {
  if (raw === '') return null
  const status = raw.toLowerCase()
  if (!isJobStatus(status)) {
    throw new Error(
      `Input "job-status" must be one of ${JOB_STATUSES.join(', ')} (got "${raw}"); ` +
        `leave it at its default ${JOB_STATUS_EXPRESSION} unless you report for another job.`,
    )
  }
  return status
}

function readTargetUrl(raw: string): string | null {
  if (raw === '') return null
  if (!validateCallback({ state: 'pending', target_url: raw }).ok) {
    throw new Error(
      'Input "target-url" must be an absolute http(s) URL without spaces or user info, ' +
        'e.g. https://github.com/acme/app/actions/runs/42.',
    )
  }
  return raw
}

function readTimeoutMs(raw: string): number {
  const seconds = Number(raw || INPUT_DEFAULTS['timeout-seconds'])
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new Error(
      `Input "timeout-seconds" must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS} (got "${raw}").`,
    )
  }
  return Math.max(1, Math.round(seconds * 1000))
}

function readRetries(raw: string): number {
  const retries = Number(raw || INPUT_DEFAULTS.retries)
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
    throw new Error(
      `Input "retries" must be a whole number from 0 to ${MAX_RETRIES} (got "${raw}").`,
    )
  }
  return retries
}

function readBackoffMs(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null
  const ms = Number(raw)
  if (!Number.isFinite(ms) || ms < 0) {
    throw new Error(
      `HOOKCHAIN_BACKOFF_MS must be a number of milliseconds, 0 or more (got "${raw}").`,
    )
  }
  return ms
}
