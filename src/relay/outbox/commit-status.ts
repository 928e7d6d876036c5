import type { Logger } from 'pino'
import type { Chain } from '../config/settings.js'
import type { Deliverer } from '../deliverers/deliverer.js'
import { countRequests, type Metrics } from '../metrics.js'
import { type CommitStatus, commitStatusOf } from '../runs/commit-status.js'
import type { RunStore } from '../store/store.js'
import { NoWriteSlotError } from './cluster-pacer.js'
import type { JobHandler, JobResult } from './runner.js'
import { scrubbed, thrownAsRetry } from './send-step.js'
import type { WritePacer } from './write-pacer.js'

export interface CommitStatusDeps {
  store: Pick<RunStore, 'getRun' | 'recordAttempts'>
  deliverer: Pick<Deliverer, 'commitStatus'>
  chains: () => readonly Chain[]
  /** The pacer of the dispatches: statuses are GitHub writes under the same limit. */
  pacer: WritePacer
  /** Base of run links, without a trailing slash. */
  publicUrl: string
  retryDelay: (tries: number) => number
  /** Tries before giving up. */
  tries: number
  secrets: readonly string[]
  logger: Logger
  metrics?: Metrics
  now: () => Date
}

/**
 * `commit-status` jobs: the status of one step (the job's ref), or of the run, on the run's
 * source commit, as it stands when the job runs. Once written, the run is read again: should the
 * status have changed meanwhile (a job of the same step running alongside may have written the
 * older one last), the job comes back to write it again. It never changes the run.
 */
export function commitStatusHandler(deps: CommitStatusDeps): JobHandler {
  const current = async (runId: string, ref: Parameters<typeof commitStatusOf>[1]) => {
    const run = await deps.store.getRun(runId)
    const chain = deps.chains().find((c) => c.name === run?.chain)
    if (!run || !chain?.reportToCommit || !run.sourceCommit) return null
    const status = commitStatusOf(
      run,
      ref,
      chain.reportToCommit.context,
      `${deps.publicUrl}/runs/${run.id}`,
    )
    return status && { run, commit: run.sourceCommit, status }
  }

  return async (job): Promise<JobResult> => {
    const found = await current(job.runId, job.ref)
    if (!found) return { kind: 'done' }
    const { run, commit, status } = found
    const log = { run: run.id, context: status.context, state: status.state }
    try {
      await deps.pacer.acquire()
    } catch (error) {
      if (!(error instanceof NoWriteSlotError)) throw error
      return {
        kind: 'later',
        at: deps.now().getTime() + error.retryAfterMs,
        error: error.message,
        tried: false,
      }
    }
    const outcome = scrubbed(
      await deps.deliverer.commitStatus(commit.repository, commit.sha, status).catch(thrownAsRetry),
      deps.secrets,
    )
    await deps.store.recordAttempts(
      outcome.attempts.map((a) => ({
        ...a,
        runId: run.id,
        runAttempt: run.attempt,
        step: job.ref?.index ?? null,
        phase: job.ref?.phase ?? 'main',
        branch: job.ref?.branch ?? 0,
        kind: 'commit-status' as const,
      })),
    )
    deps.metrics?.attempts.inc({ kind: 'commit-status', outcome: outcome.kind })
    countRequests(deps.metrics, 'commit-status', outcome.attempts)
    if (outcome.kind === 'retry' && job.tries + 1 < deps.tries) {
      const delay = Math.max(outcome.retryAfterMs ?? 0, deps.retryDelay(job.tries))
      deps.logger.warn(log, 'commit status: %s; trying again', outcome.error)
      return { kind: 'later', at: deps.now().getTime() + delay, error: outcome.error }
    }
    if (outcome.kind !== 'delivered') {
      deps.logger.warn(log, 'commit status given up: %s', outcome.error)
      return { kind: 'done' }
    }
    deps.logger.debug(log, 'commit status set')
    const now = await current(job.runId, job.ref)
    if (now && !sameStatus(now.status, status)) {
      return { kind: 'later', at: deps.now().getTime(), error: 'the status changed', tried: false }
    }
    return { kind: 'done' }
  }
}

function sameStatus(a: CommitStatus, b: CommitStatus): boolean {
  return (
    a.state === b.state &&
    a.description === b.description &&
    a.context === b.context &&
    a.target_url === b.target_url
  )
}
