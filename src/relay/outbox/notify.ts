import type { Logger } from 'pino'
import type { Chain, NotifyEvent } from '../config/settings.js'
import type { Notifier } from '../deliverers/notifier.js'
import { countRequests, type Metrics } from '../metrics.js'
import { notificationFor } from '../runs/notification.js'
import type { RunStore } from '../store/store.js'
import type { JobHandler, JobResult } from './runner.js'
import { scrubbed, thrownAsRetry } from './send-step.js'

export interface NotifyDeps {
  store: Pick<RunStore, 'getRun' | 'recordAttempts'>
  notifier: Notifier
  chains: () => readonly Chain[]
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

/** `notify` jobs: one notification to one target; it never changes the run. */
export function notifyHandler(deps: NotifyDeps): JobHandler {
  return async (job): Promise<JobResult> => {
    const run = await deps.store.getRun(job.runId)
    const event = job.args?.event as NotifyEvent | undefined
    const index = Number(job.args?.target)
    const target = deps.chains().find((c) => c.name === run?.chain)?.notify[index - 1]
    if (!run || !event || !target?.on.includes(event)) {
      deps.logger.info(
        { run: job.runId, event, target: index },
        'notification dropped: the chain no longer has that target',
      )
      return { kind: 'done' }
    }
    const notification = notificationFor(run, event, `${deps.publicUrl}/runs/${run.id}`, {
      attempt: typeof job.args?.attempt === 'number' ? job.args.attempt : undefined,
      step: typeof job.args?.step === 'number' ? job.args.step : undefined,
    })
    const outcome = scrubbed(await deps.notifier.send(target, notification).catch(thrownAsRetry), [
      ...deps.secrets,
      target.url,
    ])
    await deps.store.recordAttempts(
      outcome.attempts.map((a) => ({
        ...a,
        runId: run.id,
        runAttempt: run.attempt,
        step: null,
        phase: 'main' as const,
        branch: 0,
        kind: 'notification' as const,
      })),
    )
    deps.metrics?.attempts.inc({ kind: 'notification', outcome: outcome.kind })
    countRequests(deps.metrics, 'notification', outcome.attempts)
    const log = { run: run.id, event, target: index, kind: target.kind }
    if (outcome.kind === 'retry' && job.tries + 1 < deps.tries) {
      const delay = Math.max(outcome.retryAfterMs ?? 0, deps.retryDelay(job.tries))
      deps.logger.warn(log, 'notification: %s; trying again', outcome.error)
      return { kind: 'later', at: deps.now().getTime() + delay, error: outcome.error }
    }
    if (outcome.kind === 'delivered') deps.logger.info(log, 'notification sent')
    else deps.logger.warn(log, 'notification given up: %s', outcome.error)
    return { kind: 'done' }
  }
}
