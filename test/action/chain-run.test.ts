import { describe, expect, it } from 'vitest'
import {
  parseRun,
  parseStartedRun,
  UnexpectedAnswerError,
} from '../../src/action/start/chain-run.js'

/** A run as the history API answers it, with fields the Action does not read. */
const RUN = {
  id: 'run_01J',
  event_id: null,
  chain: 'release',
  state: 'running',
  source: { repository: 'acme/app', sha: 'abc' },
  image: {
    registry: 'ghcr.io',
    repository: 'acme/app',
    tag: null,
    digest: 'sha256:00',
    reference: 'ghcr.io/acme/app@sha256:00',
  },
  created_at: '2026-12-01T10:00:00Z',
  finished_at: null,
  steps: [
    {
      index: 1,
      kind: 'dispatch',
      target: 'acme/tests',
      event_type: 'image-pushed',
      state: 'success',
      description: '387 tests PASSED',
      context: 'CI / test',
      target_url: 'https://github.com/acme/tests/actions/runs/1',
      attempts: [{ status: 204 }],
      callbacks: [],
    },
    {
      index: 2,
      kind: 'parallel',
      state: 'running',
      description: null,
      branches: [
        { index: 1, kind: 'webhook', target: 'https://hooks.acme.dev/x', state: 'queued' },
      ],
    },
  ],
  registry_callback: null,
}

describe('parseRun', () => {
  it('keeps what start mode shows and ignores the rest', () => {
    expect(parseRun(RUN)).toEqual({
      id: 'run_01J',
      chain: 'release',
      state: 'running',
      image: 'ghcr.io/acme/app@sha256:00',
      steps: [
        {
          index: 1,
          kind: 'dispatch',
          target: 'acme/tests',
          state: 'success',
          description: '387 tests PASSED',
          target_url: 'https://github.com/acme/tests/actions/runs/1',
          branches: [],
        },
        {
          index: 2,
          kind: 'parallel',
          target: '',
          state: 'running',
          description: null,
          target_url: null,
          branches: [
            {
              index: 1,
              kind: 'webhook',
              target: 'https://hooks.acme.dev/x',
              state: 'queued',
              description: null,
              target_url: null,
              branches: [],
            },
          ],
        },
      ],
    })
  })

  it.each([
    ['not an object', [], 'the answer is not a run with an id, a state and steps'],
    [
      'no steps',
      { id: 'r', state: 'running' },
      'the answer is not a run with an id, a state and steps',
    ],
    [
      'a step without state',
      { id: 'r', state: 'running', steps: [{}] },
      'step 1 of the run has no state',
    ],
  ])('refuses %s', (_name, value, message) => {
    expect(() => parseRun(value)).toThrow(new UnexpectedAnswerError(message))
  })
})

describe('parseStartedRun', () => {
  it('reads the run, its URL and its token', () => {
    const started = parseStartedRun({
      run: RUN,
      url: 'https://relay/runs/run_01J',
      run_token: 'rt',
    })
    expect(started).toMatchObject({ url: 'https://relay/runs/run_01J', runToken: 'rt' })
    expect(started.run.id).toBe('run_01J')
  })

  it('refuses an answer without a run token', () => {
    expect(() => parseStartedRun({ run: RUN, url: 'https://relay/runs/run_01J' })).toThrow(
      'the answer has no url or run_token',
    )
  })
})
