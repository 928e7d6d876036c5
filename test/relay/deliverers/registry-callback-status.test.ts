import { describe, expect, it } from 'vitest'
import { registryCallbackStatus } from '../../../src/relay/deliverers/registry-callback-status.js'
import type { Attempt } from '../../../src/relay/model/attempt.js'
import type { RunState } from '../../../src/relay/model/run.js'
import { newRun } from '../runs/run-fixture.js'

const HUB =
  'https://registry.hub.docker.com/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/'
const policy = { allowedHosts: ['registry.hub.docker.com'], allowHttp: false }

const run = (state: RunState, callbackUrl: string | null = HUB) => ({
  ...newRun({ callbackUrl }),
  state,
})

function attempt(fields: Partial<Attempt>): Attempt {
  return {
    runId: 'r',
    runAttempt: 1,
    step: null,
    phase: 'main',
    branch: 0,
    kind: 'registry-callback',
    target: 'https://registry.hub.docker.com/u/acme/app/hook/[redacted]/',
    request: { method: 'POST' },
    status: 200,
    error: null,
    durationMs: 120,
    startedAt: '2026-11-26T21:40:00.000Z',
    ...fields,
  }
}

describe('what became of telling the registry how a run ended', () => {
  it.each<[string, RunState, Attempt[], string, string]>([
    [
      'a run going on',
      'running',
      [],
      'waiting',
      'When the run ends, the relay tells registry.hub.docker.com how it ended.',
    ],
    [
      'an ended run not tried yet',
      'failure',
      [],
      'queued',
      'The relay is about to tell registry.hub.docker.com how the run ended.',
    ],
    [
      'a 2xx',
      'success',
      [attempt({})],
      'sent',
      'Sent to registry.hub.docker.com, which answered HTTP 200.',
    ],
    [
      'a failed try',
      'success',
      [attempt({ status: 502, error: 'the registry answered 502 Bad Gateway' })],
      'failing',
      'Not delivered to registry.hub.docker.com yet (HTTP 502: the registry answered 502 Bad Gateway); the relay tries again a few times, waiting longer each time.',
    ],
    [
      'a refusal the outbox recorded',
      'error',
      [
        attempt({
          request: null,
          status: null,
          error: `not sent to ${HUB}: callback host registry.hub.docker.com is not in registry_callbacks.allowed_hosts`,
        }),
      ],
      'refused',
      'Not sent: callback host registry.hub.docker.com is not in registry_callbacks.allowed_hosts.',
    ],
    [
      'a cancelled run',
      'cancelled',
      [],
      'not-applicable',
      'The run was cancelled: registry.hub.docker.com is told how a run ended only when it succeeded, failed or erred.',
    ],
  ])('says so of %s', (_, state, attempts, expected, detail) => {
    expect(registryCallbackStatus(run(state), attempts, policy)).toEqual({
      state: expected,
      detail,
    })
  })

  it('tells ahead of time that a URL registry_callbacks does not allow will not be sent', () => {
    expect(
      registryCallbackStatus(run('running', 'http://registry.hub.docker.com/hook'), [], policy),
    ).toEqual({
      state: 'refused',
      detail:
        'Will not be sent: callback URL registry.hub.docker.com uses http; set registry_callbacks.allow_http to allow plain http (trusted networks only).',
    })
    expect(
      registryCallbackStatus(run('failure', 'https://evil.example/hook'), [], policy)?.state,
    ).toBe('refused')
    // Without the policy (the callback answer), only what happened is said.
    expect(registryCallbackStatus(run('running', 'https://evil.example/hook'), [])?.state).toBe(
      'waiting',
    )
  })

  it('is null for a push that asked for no callback', () => {
    expect(registryCallbackStatus(run('success', null), [attempt({})], policy)).toBeNull()
  })
})
