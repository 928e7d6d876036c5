import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import type { Job, QueueStore } from '../store/store.js'

/** What became of a job: done (it leaves the outbox), or back in the outbox until `at`. */
export type JobResult =
  | { kind: 'done' }
  /** `tried: false`: nothing was sent (a write slot was not free yet), so no try is counted. */
  | { kind: 'later'; at: number; error: string; tried?: boolean }

/** Carries out one kind of job. Throwing leaves the job leased: it comes back when its lease ends. */
export type JobHandler = (job: Job) => Promise<JobResult>

export interface OutboxRunnerOptions {
  queue: QueueStore
  /** By job kind. */
  handlers: Readonly<Record<string, JobHandler>>
  logger: Logger
  /** Names this relay's leases; unique per process. */
  owner: string
  now?: () => Date
  /**
   * How long a claimed job stays ours unless renewed; a relay that dies loses its jobs to others
   * after this. The leases of the jobs in flight are renewed every third of it.
   */
  leaseMs?: number
  /** How often the outbox is looked at when nothing wakes it. */
  pollMs?: number
  /** Jobs in flight at most. */
  concurrency?: number
}

/**
 * The outbox's runner: claims due jobs under a lease, renews the leases of those in flight, hands
 * each to the handler of its kind and records what became of it. It knows nothing of what jobs do.
 */
export class OutboxRunner {
  private running = false
  private loop: Promise<void> | null = null
  private readonly inFlight = new Set<Promise<void>>()
  /** The ids of the jobs in flight, whose leases are renewed. */
  private readonly leased = new Set<number>()
  private wake: (() => void) | null = null
  private renewal: NodeJS.Timeout | null = null
  private readonly now: () => Date
  private readonly leaseMs: number
  private readonly pollMs: number
  private readonly concurrency: number

  constructor(private readonly options: OutboxRunnerOptions) {
    this.now = options.now ?? (() => new Date())
    this.leaseMs = options.leaseMs ?? 30_000
    this.pollMs = options.pollMs ?? 500
    this.concurrency = options.concurrency ?? 8
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

  /** New work was committed: look now rather than at the next poll. */
  kick(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private async renewLeases(): Promise<void> {
    if (this.leased.size === 0) return
    try {
      await this.options.queue.renewLeases(
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

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if ((await this.claim()) > 0) continue
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

  /** Claims what the concurrency bound allows; returns how many (1 after waiting for a free place). */
  private async claim(): Promise<number> {
    const free = this.concurrency - this.inFlight.size
    if (free <= 0) {
      await Promise.race(this.inFlight)
      return 1
    }
    const jobs = await this.options.queue.claimJobs(
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
            { err: error, job: job.id, kind: job.kind },
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

  private async process(job: Job): Promise<void> {
    const { queue, owner } = this.options
    const handler = this.options.handlers[job.kind]
    if (!handler) {
      // A job of a kind this relay does not know (a newer relay's): left for one that does.
      const at = this.now().getTime() + this.leaseMs
      return queue.rescheduleJob(job.id, owner, at, `no handler for ${job.kind} jobs`, {
        tried: false,
      })
    }
    const result = await handler(job)
    if (result.kind === 'done') return queue.finishJob(job.id, owner)
    return queue.rescheduleJob(job.id, owner, result.at, result.error, {
      tried: result.tried ?? true,
    })
  }
}
