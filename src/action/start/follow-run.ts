import { type ChainRun, FINAL_RUN_STATES } from './chain-run.js'
import type { Polled } from './relay-api.js'
import { type AttemptOutcome, retrying } from './retry-loop.js'

/** The longest wait the relay holds a request for. */
export const MAX_WAIT_SECONDS = 60
/** Without an ETag the relay cannot hold a request: ask again this often instead. */
export const POLL_WITHOUT_ETAG_MS = 5000

export interface FollowOptions {
  /** The run as it started. */
  run: ChainRun
  /** When to stop waiting (epoch ms). */
  deadline: number
  /** One long poll of the run: see `pollRun`. */
  poll: (etag: string | null, waitSeconds: number) => Promise<AttemptOutcome<Polled>>
  /** Called with the run as it started and with every new version of it. */
  onRun: (run: ChainRun) => void
  backoffMs: number
  log: (message: string) => void
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

export type Followed =
  | { ended: true; run: ChainRun }
  /** The deadline came first; `lastProblem` is why the relay did not answer, if it did not. */
  | { ended: false; run: ChainRun; lastProblem: string | null }

export function isRunOver(run: ChainRun): boolean {
  return FINAL_RUN_STATES.includes(run.state)
}

/** How long to ask the relay to hold the next poll: what is left of the wait, within 1…60 s. */
export function waitSecondsFor(leftMs: number): number {
  return Math.min(MAX_WAIT_SECONDS, Math.max(1, Math.ceil(leftMs / 1000)))
}

/**
 * Follows the run until it ends or the deadline passes. A poll that gets no answer, a 429 or
 * a 5xx is tried again until the deadline, so the wait outlasts a restart of the relay; a
 * refusal (a 4xx) throws.
 */
export async function followRun(options: FollowOptions): Promise<Followed> {
  const { deadline, poll, onRun, now = Date.now } = options
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)))
  let run = options.run
  let etag: string | null = null
  onRun(run)
  while (!isRunOver(run)) {
    if (now() >= deadline) return { ended: false, run, lastProblem: null }
    const polled = await retrying(() => poll(etag, waitSecondsFor(deadline - now())), {
      ...options,
      attempts: Number.POSITIVE_INFINITY,
      deadline,
      now,
      sleep,
    })
    if (!polled.ok) return { ended: false, run, lastProblem: polled.message }
    if (polled.value === null) continue
    run = polled.value.run
    etag = polled.value.etag
    onRun(run)
    if (etag === null && !isRunOver(run)) {
      await sleep(Math.min(POLL_WITHOUT_ETAG_MS, Math.max(0, deadline - now())))
    }
  }
  return { ended: true, run }
}
