import { createHash, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Callback } from '../../shared/callback.js'
import { getErrorMessage } from '../../shared/errors.js'
import { type Run, runResult, type Step, shownTarget } from '../chains/run.js'
import { applyInput } from '../chains/transitions.js'
import { countRequests, type Metrics, observeEndedSteps } from '../metrics.js'
import type { Job, Store } from '../store/store.js'
import type { DeliveryOutcome, TriedOutcome } from './attempt.js'
import { retryDelayMs } from './backoff.js'

/** The network side of a job: the only part of the worker that leaves the process. */
export interface Deliverer {
  /**
   * Dispatches a step (repository_dispatch or webhook). `issueCallbackUrl` is called once the
   * request will go out (a paced dispatch has its write slot), never for a postponed one: it
   * stores the step's callback token and the attempt's placeholder.
   */
  step(run: Run, step: Step, issueCallbackUrl: () => Promise<string>): Promise<DeliveryOutcome>
  /** Tells a registry's own callback_url how the run ended. */
  registry(run: Run, url: string, result: Callback): Promise<TriedOutcome>
}

export interface OutboxWorkerOptions {
  store: Store
  deliver: Deliverer
  /** Base of callback URLs and run links, without a trailing slash. */
  publicUrl: string
  logger: Logger
  /** Names this relay's leases; unique per process. */
  owner: string
  now?: () => Date
  /**
   * How long a claimed job stays ours unless renewed; a relay that dies loses its jobs to others
   * after this. The worker renews the leases of its jobs in flight every third of it.
   */
  leaseMs?: number
  pollMs?: number
  concurrency?: number
  /** Delay before try number `tries + 1` of a job that failed `tries` times. */
  retryDelay?: (tries: number) => number
  /** Tries of a registry callback before giving up (steps are bounded by their timeout instead). */
  registryTries?: number
  metrics?: Metrics
}

/**
 * What the history shows of an attempt whose answer the relay never recorded: it stopped, or its
 * database failed.
 */
export const IN_FLIGHT =
  'sent, or about to be, when the relay stopped or could not write to its database: no answer was recorded, and the step was dispatched again'

export function callbackToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashToken(token) }
}

/** Tokens are kept only as their SHA-256: a copy of the database does not let anyone report a step. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * Carries out the outbox: claims due jobs under a lease, delivers them, records every attempt, and
 * feeds the result back to the chain engine. Also ends steps that passed their deadline.
 */
export class OutboxWorker {
  private running = false
  private loop: Promise<void> | null = null
  private inFlight = new Set<Promise<void>>()
  /** The ids of the jobs in flight, whose leases are renewed. */
  private leased = new Set<number>()
  private wake: (() => void) | null = null
  private renewal: NodeJS.Timeout | null = null
  private readonly now: () => Date
  private readonly leaseMs: number
  private readonly pollMs: number
  private readonly concurrency: number
  private readonly retryDelay: (tries: number) => number
  private readonly registryTries: number

  constructor(private readonly options: OutboxWorkerOptions) {
    this.now = options.now ?? (() => new Date())
    this.leaseMs = options.leaseMs ?? 30_000
    this.pollMs = options.pollMs ?? 500
    this.concurrency = options.concurrency ?? 8
    this.retryDelay = options.retryDelay ?? ((tries) => retryDelayMs(tries + 1))
    this.registryTries = options.registryTries ?? 8
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
    // A slow delivery (GitHub's timeout, retries, a wait for a write slot) can outlast a lease:
    // renewed, it is never claimed again, by this relay or another, while it is in flight.
    this.renewal = setInterval(() => void this.renewLeases(), Math.max(1, this.leaseMs / 3))
    this.renewal.unref()
  }

  /** Stops claiming; waits for the jobs in flight. */
  async stop(): Promise<void> {
    this.running = false
    this.kick()
    await this.loop
    await Promise.allSettled([...this.inFlight])
    if (this.renewal) clearInterval(this.renewal)
    this.renewal = null
  }

  private async renewLeases(): Promise<void> {
    if (this.leased.size === 0) return
    try {
      await this.options.store.renewLeases(
        this.options.owner,
        [...this.leased],
        this.now().getTime() + this.leaseMs,
      )
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'outbox: could not renew the leases of the jobs in flight: %s',
        getErrorMessage(error),
      )
    }
  }

  /** New work was committed: look now rather than at the next poll. */
  kick(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private async run(): Promise<void> {
    let lastSweep = 0
    while (this.running) {
      try {
        if (Date.now() - lastSweep >= this.pollMs) {
          lastSweep = Date.now()
          await this.sweepTimeouts()
        }
        const claimed = await this.claim()
        if (claimed > 0) continue
      } catch (error) {
        this.options.logger.error({ err: error }, 'outbox: %s', getErrorMessage(error))
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  private async claim(): Promise<number> {
    const free = this.concurrency - this.inFlight.size
    if (free <= 0) {
      await Promise.race(this.inFlight)
      return 1
    }
    const jobs = await this.options.store.claimJobs(
      this.options.owner,
      this.now().getTime(),
      this.leaseMs,
      free,
    )
    for (const job of jobs) {
      this.leased.add(job.id)
      const work = this.process(job)
        .catch((error) =>
          this.options.logger.error(
            { err: error, job: job.id },
            'outbox job failed: %s',
            getErrorMessage(error),
          ),
        )
        .finally(() => {
          this.inFlight.delete(work)
          this.leased.delete(job.id)
        })
      this.inFlight.add(work)
    }
    return jobs.length
  }

  /** Ends every step past its deadline; the engine's version check makes each timeout fire once. */
  async sweepTimeouts(): Promise<number> {
    const { store, logger } = this.options
    const overdue = await store.overdueSteps(this.now().toISOString(), 100)
    for (const { runId, step } of overdue) {
      const lastError = await this.lastDispatchError(runId, step)
      const result = await applyInput(store, runId, { type: 'timeout', step, lastError }, this.now)
      if (result.ok) {
        logger.info(
          { run: runId, step, state: 'error' },
          'step %d of run %s timed out',
          step,
          runId,
        )
        if (result.effects.length) this.kick()
      }
    }
    return overdue.length
  }

  /**
   * Why the last failed try to dispatch a step failed, as its history shows it; null if the step
   * was dispatched (its timeout is about the callback) or no try failed since it (re)started (say,
   * when the first is still in flight).
   */
  private async lastDispatchError(runId: string, index: number): Promise<string | null> {
    const { store } = this.options
    const step = (await store.getRun(runId))?.steps[index - 1]
    if (step?.state !== 'dispatching' || !step.startedAt) return null
    const since = step.startedAt
    const attempts = await store.attemptsFor([runId])
    const failed = attempts.filter(
      (a) => a.step === index && a.startedAt >= since && a.error && a.error !== IN_FLIGHT,
    )
    return failed.at(-1)?.error ?? null
  }

  private async process(job: Job): Promise<void> {
    const { store } = this.options
    const run = await store.getRun(job.runId)
    if (!run) return store.finishJob(job.id, this.options.owner)
    if (job.kind === 'notify-registry') return this.notifyRegistry(job, run)
    return this.sendStep(job, run)
  }

  private async sendStep(job: Job, run: Run): Promise<void> {
    const { store, owner, logger } = this.options
    const step = run.steps[(job.step ?? 0) - 1]
    if (step?.state !== 'dispatching' || step.generation !== job.generation) {
      this.options.metrics?.attempts.inc({ kind: step?.kind ?? 'dispatch', outcome: 'stale' })
      return store.finishJob(job.id, owner)
    }
    const target = shownTarget(step)
    let inFlight: number | undefined
    const issueCallbackUrl = async () => {
      const { token, hash } = callbackToken()
      // Together, so that SQLite commits both in one transaction: one disk sync fewer per step.
      const [, placeholder] = await Promise.all([
        store.addToken(hash, { runId: run.id, step: step.index, generation: step.generation }),
        store.startAttempt({
          runId: run.id,
          step: step.index,
          kind: step.kind,
          target,
          request: null,
          status: null,
          error: IN_FLIGHT,
          durationMs: 0,
          startedAt: this.now().toISOString(),
        }),
      ])
      inFlight = placeholder
      return `${this.options.publicUrl}/callbacks/${token}`
    }

    const outcome = await this.options.deliver.step(run, step, issueCallbackUrl).catch(
      (error): DeliveryOutcome => ({
        kind: 'retry',
        attempts: [],
        error: getErrorMessage(error),
        retryAfterMs: null,
      }),
    )
    if (inFlight !== undefined) {
      await store.recordAttempts(
        outcome.attempts.map((a) => ({ ...a, runId: run.id, step: step.index, kind: step.kind })),
        inFlight,
      )
    }
    this.options.metrics?.attempts.inc({ kind: step.kind, outcome: outcome.kind })
    countRequests(this.options.metrics, step.kind, outcome.attempts)
    const log = { run: run.id, chain: run.chain, step: step.index, target }

    if (outcome.kind === 'postponed') {
      // A backlog waiting for write slots: each job comes back at its slot, in order.
      logger.debug(
        { ...log, retryInMs: outcome.retryAfterMs },
        'step %d: %s',
        step.index,
        outcome.reason,
      )
      const dueAt = this.now().getTime() + outcome.retryAfterMs
      return store.rescheduleJob(job.id, owner, dueAt, outcome.reason, { tried: false })
    }
    if (outcome.kind === 'retry') {
      const delay = Math.max(outcome.retryAfterMs ?? 0, this.retryDelay(job.tries))
      logger.warn(
        { ...log, retryInMs: Math.round(delay) },
        'step %d: %s; trying again',
        step.index,
        outcome.error,
      )
      return store.rescheduleJob(job.id, owner, this.now().getTime() + delay, outcome.error)
    }
    const input =
      outcome.kind === 'delivered'
        ? ({ type: 'delivered', step: step.index, generation: step.generation } as const)
        : ({
            type: 'delivery-failed',
            step: step.index,
            generation: step.generation,
            error: outcome.error,
          } as const)
    const result = await applyInput(store, run.id, input, this.now)
    await store.finishJob(job.id, owner)
    if (result.ok) observeEndedSteps(this.options.metrics, result.ended)
    if (outcome.kind === 'delivered') {
      logger.info({ ...log, state: 'running' }, 'step %d dispatched to %s', step.index, target)
    } else {
      logger.warn({ ...log, state: 'error' }, 'step %d failed: %s', step.index, outcome.error)
    }
    if (result.ok && result.effects.length) this.kick()
  }

  private async notifyRegistry(job: Job, run: Run): Promise<void> {
    const { store, owner, logger } = this.options
    const url = run.push.callbackUrl
    if (!url || run.state === 'running') return store.finishJob(job.id, owner)
    const result = runResult(run, `${this.options.publicUrl}/runs/${run.id}`)
    const outcome = await this.options.deliver.registry(run, url, result).catch(
      (error): TriedOutcome => ({
        kind: 'retry',
        attempts: [],
        error: getErrorMessage(error),
        retryAfterMs: null,
      }),
    )
    await store.recordAttempts(
      outcome.attempts.map((a) => ({ ...a, runId: run.id, step: null, kind: 'registry-callback' })),
    )
    this.options.metrics?.attempts.inc({ kind: 'registry-callback', outcome: outcome.kind })
    countRequests(this.options.metrics, 'registry-callback', outcome.attempts)
    if (outcome.kind === 'retry' && job.tries + 1 < this.registryTries) {
      const delay = Math.max(outcome.retryAfterMs ?? 0, this.retryDelay(job.tries))
      logger.warn({ run: run.id }, 'registry callback: %s; trying again', outcome.error)
      return store.rescheduleJob(job.id, owner, this.now().getTime() + delay, outcome.error)
    }
    if (outcome.kind === 'delivered')
      logger.info({ run: run.id, state: run.state }, 'registry callback delivered')
    else logger.warn({ run: run.id }, 'registry callback given up: %s', outcome.error)
    return store.finishJob(job.id, owner)
  }
}
