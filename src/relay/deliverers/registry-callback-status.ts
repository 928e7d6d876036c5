import type { Attempt } from '../model/attempt.js'
import type { Run } from '../model/run.js'
import { type CallbackPolicy, checkRegistryCallbackUrl } from './outbound-address.js'

/**
 * Where telling a registry how a run ended stands:
 * `waiting` (the run goes on), `queued` (it ended; the first try is due), `sent` (the registry
 * answered 2xx), `failing` (the last try failed; the relay tries a few times), `refused` (not sent,
 * and it will not be: the config does not allow the URL), `not-applicable` (a cancelled run: the
 * registry is not told).
 */
export type RegistryCallbackState =
  | 'waiting'
  | 'queued'
  | 'sent'
  | 'failing'
  | 'refused'
  | 'not-applicable'

export interface RegistryCallbackStatus {
  state: RegistryCallbackState
  /** What happened, or will, in a sentence that names the setting at fault. */
  detail: string
}

/**
 * What became of a run's registry callback, from its attempts (a refusal is recorded as an attempt
 * that sent nothing) and, for one not yet tried, from `policy`, the config's registry_callbacks.
 * Null when the event carried no callback URL.
 */
export function registryCallbackStatus(
  run: Run,
  attempts: readonly Attempt[],
  policy?: CallbackPolicy,
): RegistryCallbackStatus | null {
  const url = run.push.callbackUrl
  if (!url) return null
  const host = hostOf(url)
  const calls = attempts.filter((a) => a.kind === 'registry-callback')
  const last = calls.at(-1)
  if (last) {
    if (last.request === null) return { state: 'refused', detail: `Not sent: ${refusal(last)}.` }
    if (!last.error && last.status !== null && last.status < 300) {
      return { state: 'sent', detail: `Sent to ${host}, which answered HTTP ${last.status}.` }
    }
    const answer = last.status === null ? 'no answer' : `HTTP ${last.status}`
    return {
      state: 'failing',
      detail: `Not delivered to ${host} yet (${answer}${last.error ? `: ${last.error}` : ''}); the relay tries again a few times, waiting longer each time.`,
    }
  }
  if (run.state === 'cancelled') {
    return {
      state: 'not-applicable',
      detail: `The run was cancelled: ${host} is told how a run ended only when it succeeded, failed or erred.`,
    }
  }
  const check = policy ? checkRegistryCallbackUrl(url, policy) : null
  if (check && !check.ok) {
    return {
      state: 'refused',
      detail: `Will not be sent: ${check.reason}.`,
    }
  }
  return run.state === 'running'
    ? { state: 'waiting', detail: `When the run ends, the relay tells ${host} how it ended.` }
    : { state: 'queued', detail: `The relay is about to tell ${host} how the run ended.` }
}

/** The reason of a refusal recorded as `not sent to <url>: <reason>`. */
function refusal(attempt: Attempt): string {
  const error = attempt.error ?? 'the config does not allow this URL'
  return error.replace(/^not sent to \S+: /, '')
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the registry'
  }
}
