import { describe, expect, it } from 'vitest'
import { runUrl, workflowContext } from '../../src/action/workflow-run.js'

const RUN = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/deploy',
  GITHUB_RUN_ID: '4242',
}

describe('runUrl', () => {
  it.each([
    [
      'the first attempt',
      { ...RUN, GITHUB_RUN_ATTEMPT: '1' },
      'https://github.com/acme/deploy/actions/runs/4242',
    ],
    [
      'a re-run',
      { ...RUN, GITHUB_RUN_ATTEMPT: '3' },
      'https://github.com/acme/deploy/actions/runs/4242/attempts/3',
    ],
    ['no attempt number', RUN, 'https://github.com/acme/deploy/actions/runs/4242'],
    [
      'GitHub Enterprise Server',
      { ...RUN, GITHUB_SERVER_URL: 'https://ghe.acme.internal/' },
      'https://ghe.acme.internal/acme/deploy/actions/runs/4242',
    ],
    ['a run outside GitHub Actions', { GITHUB_REPOSITORY: 'acme/deploy' }, null],
  ])('links %s', (_name, env, expected) => {
    expect(runUrl(env)).toBe(expected)
  })
})

describe('workflowContext', () => {
  it.each([
    [{ GITHUB_WORKFLOW: 'Deploy', GITHUB_JOB: 'rollout' }, 'Deploy / rollout'],
    [{ GITHUB_WORKFLOW: 'Deploy' }, 'Deploy'],
    [{}, null],
  ])('names %j as %s', (env, expected) => {
    expect(workflowContext(env)).toBe(expected)
  })
})
