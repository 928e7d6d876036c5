import * as core from '@actions/core'
import type { Callback } from '../shared/callback.js'

/** Every output of action.yml. */
export const OUTPUT_NAMES = [
  'state',
  'description',
  'context',
  'target-url',
  'chain-state',
] as const

/** The fields that were (or were to be) reported, set before sending so later steps see them. */
export function setCallbackOutputs(callback: Callback): void {
  core.setOutput('state', callback.state)
  core.setOutput('description', callback.description ?? '')
  core.setOutput('context', callback.context ?? '')
  core.setOutput('target-url', callback.target_url ?? '')
}

export function setChainStateOutput(chainState: string): void {
  core.setOutput('chain-state', chainState)
}
