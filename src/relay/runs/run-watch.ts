import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'

/** How often the runs someone waits for are compared with the database. */
export const DEFAULT_WATCH_INTERVAL_MS = 1000
/** Versions of recently saved runs kept, to close the gap between a read and a wait. */
const KNOWN_VERSIONS_KEPT = 10_000

export interface RunWatchOptions {
  /** The current version of each of these runs that exists (one cheap query). */
  versions: (ids: readonly string[]) => Promise<{ id: string; version: number }[]>
  intervalMs?: number
  logger: Logger
}

/**
 * Long polls of runs. A wait holds no database connection: it ends at once when this relay saves
 * a new version of the run (`changed`, from the run service's commits), and within `intervalMs`
 * when another relay of the database does, found by one query for every run waited for.
 */
export interface RunWatch {
  /** This relay saved `version` of the run. */
  changed(runId: string, version: number): void
  /**
   * Resolves true once the run has a version other than `seen` (or no longer exists), false when
   * `ms` pass, `signal` aborts or the watch closes.
   */
  waitForChange(runId: string, seen: number, ms: number, signal?: AbortSignal): Promise<boolean>
  /** How many waits are held, for tests and metrics. */
  waiting(): number
  /** Ends every wait (false) and stops checking. */
  close(): void
}

interface Waiter {
  seen: number
  end(changed: boolean): void
}

export function createRunWatch(options: RunWatchOptions): RunWatch {
  const intervalMs = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS
  const waiters = new Map<string, Set<Waiter>>()
  const known = new Map<string, number>()
  let timer: NodeJS.Timeout | null = null
  let checking = false
  let closed = false

  const wake = (runId: string, version: number | null) => {
    for (const waiter of waiters.get(runId) ?? []) {
      if (version === null || version !== waiter.seen) waiter.end(true)
    }
  }

  async function check(): Promise<void> {
    if (checking || waiters.size === 0) return
    checking = true
    try {
      const ids = [...waiters.keys()]
      const found = new Map((await options.versions(ids)).map((r) => [r.id, r.version]))
      for (const id of ids) wake(id, found.get(id) ?? null)
    } catch (error) {
      options.logger.warn(
        { err: error },
        'long polls: could not compare the runs waited for with the database: %s',
        getErrorMessage(error),
      )
    } finally {
      checking = false
    }
  }

  const schedule = () => {
    if (timer !== null || closed) return
    timer = setInterval(() => {
      if (waiters.size === 0 && timer !== null) {
        clearInterval(timer)
        timer = null
        return
      }
      void check()
    }, intervalMs)
    timer.unref()
  }

  return {
    changed(runId, version) {
      known.delete(runId)
      known.set(runId, version)
      if (known.size > KNOWN_VERSIONS_KEPT) {
        const oldest = known.keys().next().value
        if (oldest !== undefined) known.delete(oldest)
      }
      wake(runId, version)
    },

    waitForChange(runId, seen, ms, signal) {
      const latest = known.get(runId)
      if (latest !== undefined && latest > seen) return Promise.resolve(true)
      if (closed || signal?.aborted) return Promise.resolve(false)
      return new Promise((resolve) => {
        const set = waiters.get(runId) ?? new Set<Waiter>()
        waiters.set(runId, set)
        const waiter: Waiter = {
          seen,
          end(changed) {
            clearTimeout(deadline)
            signal?.removeEventListener('abort', aborted)
            set.delete(waiter)
            if (set.size === 0 && waiters.get(runId) === set) waiters.delete(runId)
            resolve(changed)
          },
        }
        const aborted = () => waiter.end(false)
        const deadline = setTimeout(() => waiter.end(false), ms)
        signal?.addEventListener('abort', aborted, { once: true })
        set.add(waiter)
        schedule()
      })
    },

    waiting() {
      let count = 0
      for (const set of waiters.values()) count += set.size
      return count
    },

    close() {
      closed = true
      if (timer !== null) clearInterval(timer)
      timer = null
      for (const set of [...waiters.values()]) for (const waiter of [...set]) waiter.end(false)
    },
  }
}
