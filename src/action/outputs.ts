import * as core from '@actions/core'
import type { Callback } from '../shared/callback.js'
import { appendOutputs } from './runner-files.js'

/** Every output of action.yml. */
export const OUTPUT_NAMES = [
  'state',
  'description',
  'context',
  'target-url',
  'chain-state',
  'run-id',
  'run-url',
] as const

/** The fields that were (or were to be) reported, set before sending so later steps see them. */
export function setCallbackOutputs(callback: Callback): void {
  setOutputs({
    state: callback.state,
    description: callback.description ?? '',
    context: callback.context ?? '',
    'target-url': callback.target_url ?? '',
  })
}

/**
 * The run's outputs: its id and page once known (start mode; report mode gives the page the
 * relay answered with), and the chain's state.
 */
export function setRunOutputs(run: { runId?: string; runUrl?: string; chainState: string }): void {
  setOutputs({
    ...(run.runId === undefined ? {} : { 'run-id': run.runId }),
    ...(run.runUrl === undefined ? {} : { 'run-url': run.runUrl }),
    'chain-state': run.chainState,
  })
}

function setOutputs(outputs: Partial<Record<(typeof OUTPUT_NAMES)[number], string>>): void {
  if (!appendOutputs(outputs)) {
    core.warning(
      `This runner offers no GITHUB_OUTPUT file: the outputs ${Object.keys(outputs).join(', ')} are not set. Update the runner.`,
    )
  }
}
