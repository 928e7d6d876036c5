import type { Logger } from 'pino'
import { redactUrl } from '../../shared/redaction.js'
import type { Deliverer } from '../deliverers/deliverer.js'
import { countRequests, type Metrics } from '../metrics.js'
import { registryResult } from '../runs/registry-result.js'
import type { RunStore } from '../store/store.js'
import type { JobHandler, JobResult } from './runner.js'
import { scrubbed, thrownAsRetry } from './send-step.js'

export interface NotifyRegistryDeps {
  store: Pick<RunStore, 'getRun' | 'recordAttempts'>
  deliverer: Pick<Deliverer, 'registry'>
  /** Base of run links, without a trailing slash. */
  publicUrl: string
  retryDelay: (tries: number) => number
  secrets: readonly string[]
  /** Tries before giving up (steps are bounded by their timeout instead). */
  tries: number
  logger: Logger
  metrics?: Metrics
  now: () => Date
}

/** `notify-registry` jobs: a registry's own callback_url hears how the run ended. */
export function notifyRegistryHandler(deps: NotifyRegistryDeps): JobHandler {
  const { store, logger } = deps
  return async (job): Promise<JobResult> => {
    const run = await store.getRun(job.runId)
    const url = run?.push.callbackUrl
    if (!run || !url || run.state === 'running') return { kind: 'done' }
    const result = registryResult(run, `${deps.publicUrl}/runs/${run.id}`)
    const outcome = scrubbed(await deps.deliverer.registry(url, result).catch(thrownAsRetry), [
      ...deps.secrets,
      url,
    ])
    // Refused before any request (the config does not allow the URL): kept all the same, as an
    // attempt that sent nothing, so the history says why the registry was never told.
    const notSent =
      outcome.kind === 'failed' && outcome.attempts.length === 0
        ? [
            {
              target: redactUrl(url),
              request: null,
              status: null,
              error: outcome.error,
              durationMs: 0,
              startedAt: deps.now().toISOString(),
            },
          ]
        : outcome.attempts
    await store.recordAttempts(
      notSent.map((a) => ({
        ...a,
        runId: run.id,
        runAttempt: run.attempt,
        step: null,
        phase: 'main' as const,
        branch: 0,
        kind: 'registry-callback' as const,
      })),
    )
    deps.metrics?.attempts.inc({ kind: 'registry-callback', outcome: outcome.kind })
    countRequests(deps.metrics, 'registry-callback', outcome.attempts)
    if (outcome.kind === 'retry' && job.tries + 1 < deps.tries) {
      const delay = Math.max(outcome.retryAfterMs ?? 0, deps.retryDelay(job.tries))
      logger.warn({ run: run.id }, 'registry callback: %s; trying again', outcome.error)
      return { kind: 'later', at: deps.now().getTime() + delay, error: outcome.error }
    }
    if (outcome.kind === 'delivered')
      logger.info({ run: run.id, state: run.state }, 'registry callback delivered')
    else logger.warn({ run: run.id }, 'registry callback given up: %s', outcome.error)
    return { kind: 'done' }
  }
}
