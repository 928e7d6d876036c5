import type { Chain } from '../../../src/relay/config/settings.js'
import type { Run, StepRef } from '../../../src/relay/model/run.js'
import { newRuns } from '../../../src/relay/runs/match.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'

export const push: PushEvent = {
  source: 'dockerhub',
  registry: 'docker.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: 'trustedbuilder',
  pushedAt: '2026-11-26T21:31:57.000Z',
  callbackUrl: null,
}

export const release: Chain = {
  name: 'release',
  match: { repository: 'acme/app', tags: ['v*', 'latest'] },
  stepTimeoutMs: 30 * 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
    { kind: 'webhook', url: 'https://changelog.example.com/hook', secret: null },
  ],
}

export function newRun(
  overrides: Partial<PushEvent> = {},
  chain: Chain = release,
  at = new Date('2026-11-26T21:32:00Z'),
): Run {
  const [run] = newRuns(
    '0193b0c0-0000-7000-8000-000000000001',
    { ...push, ...overrides },
    [chain],
    at,
  )
  if (!run) throw new Error('the chain did not match the push')
  return run
}

/** The place of main step `index` (or of its branch). */
export function ref(index: number, branch = 0): StepRef {
  return { phase: 'main', index, branch }
}
