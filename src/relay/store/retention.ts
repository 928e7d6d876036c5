import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import type { Store } from './store.js'

export interface RetentionOptions {
  store: Store
  /** History older than this is deleted; ended runs only. */
  maxAgeMs: number
  logger: Logger
  now?: () => Date
  intervalMs?: number
  /** Runs deleted per transaction: small batches keep each write short, so ingest never waits long. */
  batch?: number
}

/** Prunes old history in the background. Returns a function that stops it. */
export function startRetention(options: RetentionOptions): {
  stop(): void
  pruneNow(): Promise<number>
} {
  const now = options.now ?? (() => new Date())
  const batch = options.batch ?? 200
  let stopped = false

  async function pruneNow(): Promise<number> {
    const before = new Date(now().getTime() - options.maxAgeMs).toISOString()
    let total = 0
    while (!stopped) {
      const { runs, events } = await options.store.prune(before, batch)
      total += runs + events
      if (runs < batch && events < batch) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    if (total)
      options.logger.info(
        { before, deleted: total },
        'retention: deleted %d runs and events older than %s',
        total,
        before,
      )
    return total
  }

  const tick = () =>
    pruneNow().catch((error) =>
      options.logger.warn({ err: error }, 'retention: %s', getErrorMessage(error)),
    )
  const timer = setInterval(tick, options.intervalMs ?? 15 * 60_000)
  timer.unref()
  void tick()
  return {
    stop() {
      stopped = true
      clearInterval(timer)
    },
    pruneNow,
  }
}
