import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import type { Store } from './store.js'

export interface RetentionOptions {
  store: Store
  /** History older than this is deleted, ended runs only; null keeps it forever. */
  maxAgeMs: number | null
  /** The bodies of rejected deliveries older than this are emptied. */
  rejectedPayloadMs: number
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
    const at = now().getTime()
    const before = options.maxAgeMs === null ? null : new Date(at - options.maxAgeMs).toISOString()
    const rejectedBefore = new Date(at - options.rejectedPayloadMs).toISOString()
    let total = 0
    while (!stopped) {
      const { runs, events, payloads } = await options.store.prune(before, rejectedBefore, batch)
      total += runs + events + payloads
      if (runs < batch && events < batch && payloads < batch) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    if (total)
      options.logger.info(
        { before, rejectedBefore, deleted: total },
        'retention: deleted or emptied %d runs, events and rejected payloads (cut-off %s)',
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
