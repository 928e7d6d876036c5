import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import { scrubSecrets } from '../../shared/redaction.js'
import type { DeliveryOutcome } from '../deliverers/attempt.js'
import type { Deliverer } from '../deliverers/deliverer.js'
import { countRequests, type Metrics } from '../metrics.js'
import { IN_FLIGHT } from '../model/attempt.js'
import {
  type Run,
  type Step,
  type StepRef,
  shownTarget,
  stepAt,
  stepName,
  stepNumber,
} from '../model/run.js'
import { newCallbackToken } from '../runs/callback-tokens.js'
import type { RunService } from '../runs/service.js'
import type { RunStore } from '../store/store.js'
import { NoWriteSlotError } from './cluster-pacer.js'
import type { JobHandler, JobResult } from './runner.js'
import type { WritePacer } from './write-pacer.js'

export interface SendStepDeps {
  store: Pick<RunStore, 'getRun' | 'addToken' | 'startAttempt' | 'recordAttempts' | 'lastSuccess'>
  runs: Pick<RunService, 'delivered' | 'deliveryFailed'>
  deliverer: Deliverer
  /** Paces GitHub writes across every relay of the database. */
  pacer: WritePacer
  /** Base of callback URLs, without a trailing slash. */
  publicUrl: string
  /** Delay before try number `tries + 1` of a job that failed `tries` times. */
  retryDelay: (tries: number) => number
  /** The config's secrets, kept out of what a receiver's answer puts in the history and the log. */
  secrets: readonly string[]
  logger: Logger
  metrics?: Metrics
  now: () => Date
}

/** `send` jobs: a step's repository_dispatch or webhook, with its callback URL. */
export function sendStepHandler(deps: SendStepDeps): JobHandler {
  const { store, logger } = deps
  return async (job): Promise<JobResult> => {
    const run = await store.getRun(job.runId)
    const ref = job.ref
    const step = run && ref ? stepAt(run, ref) : undefined
    if (
      !run ||
      !ref ||
      !step ||
      step.state !== 'dispatching' ||
      step.generation !== job.generation
    ) {
      deps.metrics?.attempts.inc({ kind: step?.kind ?? 'dispatch', outcome: 'stale' })
      return { kind: 'done' }
    }
    if (step.kind !== 'dispatch' && step.kind !== 'webhook') {
      throw new Error(`BUG: step ${stepName(ref)} of run ${run.id} is a ${step.kind}, not sent`)
    }
    const kind = step.kind
    const target = shownTarget(step)
    const name = stepName(ref)
    const log = { run: run.id, chain: run.chain, step: stepNumber(ref), target }
    const where = {
      runId: run.id,
      runAttempt: run.attempt,
      step: ref.index,
      phase: ref.phase,
      branch: ref.branch,
    }

    if (step.kind === 'dispatch') {
      try {
        await deps.pacer.acquire()
      } catch (error) {
        if (!(error instanceof NoWriteSlotError)) throw error
        // A backlog waiting for write slots: each job comes back at its slot, in order.
        deps.metrics?.attempts.inc({ kind, outcome: 'postponed' })
        logger.debug({ ...log, retryInMs: error.retryAfterMs }, 'step %s: %s', name, error.message)
        return {
          kind: 'later',
          at: deps.now().getTime() + error.retryAfterMs,
          error: error.message,
          tried: false,
        }
      }
    }

    // The token and the placeholder attempt go together, so that SQLite commits both in one
    // transaction: one disk sync fewer per step.
    const { token, hash } = newCallbackToken()
    const [, placeholder, previous] = await Promise.all([
      store.addToken(hash, { runId: run.id, ref, generation: step.generation }),
      store.startAttempt({
        ...where,
        kind,
        target,
        request: null,
        status: null,
        error: IN_FLIGHT,
        durationMs: 0,
        startedAt: deps.now().toISOString(),
      }),
      // A rollback is told what it rolls back to.
      ref.phase === 'on_failure'
        ? store.lastSuccess(run.chain, run.image.repository, run.id)
        : Promise.resolve(undefined),
    ])
    const sent = await deps.deliverer
      .send(step, {
        callbackUrl: `${deps.publicUrl}/callbacks/${token}`,
        runId: run.id,
        chain: run.chain,
        ref,
        step: stepNumber(ref),
        steps: (ref.phase === 'main' ? run.steps : run.onFailure).length,
        attempt: run.attempt,
        push: run.push,
        image: run.image,
        ...(previous === undefined ? {} : { previous }),
      })
      .catch(thrownAsRetry)
    // A receiver that answers an error may quote the request, callback URL and all.
    const outcome = scrubbed(sent, [...deps.secrets, token])
    await store.recordAttempts(
      outcome.attempts.map((a) => ({ ...a, ...where, kind })),
      placeholder,
    )
    deps.metrics?.attempts.inc({ kind, outcome: outcome.kind })
    countRequests(deps.metrics, kind, outcome.attempts)
    return settle(deps, job.tries, run, ref, step, outcome, log)
  }
}

async function settle(
  deps: SendStepDeps,
  tries: number,
  run: Run,
  ref: StepRef,
  step: Step,
  outcome: DeliveryOutcome,
  log: Record<string, unknown>,
): Promise<JobResult> {
  if (outcome.kind === 'retry') {
    const delay = Math.max(outcome.retryAfterMs ?? 0, deps.retryDelay(tries))
    deps.logger.warn(
      { ...log, retryInMs: Math.round(delay) },
      'step %s: %s; trying again',
      stepName(ref),
      outcome.error,
    )
    return { kind: 'later', at: deps.now().getTime() + delay, error: outcome.error }
  }
  if (outcome.kind === 'delivered') await deps.runs.delivered(run, ref, step)
  else await deps.runs.deliveryFailed(run, ref, step, outcome.error)
  return { kind: 'done' }
}

/** The outcome with every secret taken out of its error texts. */
export function scrubbed(outcome: DeliveryOutcome, secrets: readonly string[]): DeliveryOutcome {
  const attempts = outcome.attempts.map((a) =>
    a.error === null ? a : { ...a, error: scrubSecrets(a.error, secrets) },
  )
  return outcome.kind === 'delivered'
    ? { ...outcome, attempts }
    : { ...outcome, attempts, error: scrubSecrets(outcome.error, secrets) }
}

/** A deliverer never throws; should one still, the step is tried again like after a network error. */
export function thrownAsRetry(error: unknown): DeliveryOutcome {
  return { kind: 'retry', attempts: [], error: getErrorMessage(error), retryAfterMs: null }
}
