import { afterEach, describe, expect, it, vi } from 'vitest'
import { setCallbackOutputs } from '../../src/action/outputs.js'
import { captureStdout } from './action-env.js'

afterEach(() => vi.unstubAllEnvs())

describe('setCallbackOutputs', () => {
  it('warns, naming the outputs, where the runner offers no output file', async () => {
    vi.stubEnv('GITHUB_OUTPUT', '')
    const stdout = await captureStdout(() => setCallbackOutputs({ state: 'success' }))
    expect(stdout).toContain(
      '::warning::This runner offers no GITHUB_OUTPUT file: the outputs state, description, context, target-url are not set.',
    )
  })
})
