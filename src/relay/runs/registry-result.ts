import type { Callback } from '../../shared/callback.js'
import { type Run, shownTarget } from '../model/run.js'

/** The result the registry's own callback_url receives when a run ends (never told of a cancel). */
export function registryResult(run: Run, runUrl: string): Callback {
  const failed = run.steps.find((s) => s.state === 'failure' || s.state === 'error')
  const done = run.steps.filter((s) => s.state === 'success').length
  const description = failed
    ? `Step ${failed.index} of ${run.steps.length} (${shownTarget(failed)}) ended as ${failed.state}${failed.description ? `: ${failed.description}` : ''}`
    : `${done} of ${run.steps.length} steps succeeded`
  return {
    state: run.state === 'running' ? 'pending' : run.state === 'cancelled' ? 'error' : run.state,
    description: description.length > 255 ? `${description.slice(0, 254)}…` : description,
    context: `hookchain/${run.chain}`.slice(0, 100),
    target_url: runUrl,
  }
}
