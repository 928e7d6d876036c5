import type { Logger } from 'pino'
import { getErrorMessage } from '../../shared/errors.js'
import type { RunService } from './service.js'

/** Ends overdue steps every `intervalMs`, until stopped; `stop` waits for a sweep under way. */
export function startDeadlineSweep(
  runs: Pick<RunService, 'sweepTimeouts'>,
  { intervalMs, logger }: { intervalMs: number; logger: Logger },
): { stop(): Promise<void> } {
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  let sweeping: Promise<void> = Promise.resolve()
  const tick = () => {
    sweeping = runs
      .sweepTimeouts()
      .then(
        () => undefined,
        (error) => logger.error({ err: error }, 'timeouts: %s', getErrorMessage(error)),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs)
      })
  }
  tick()
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await sweeping
    },
  }
}
