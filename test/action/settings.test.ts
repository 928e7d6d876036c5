import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { getSettings, SettingsError } from '../../src/action/settings.js'
import { captureStdout, stubActionEnv } from './action-env.js'

const TOKEN = 'c5f2e0b1a9d84f3e8b7a6c5d4e3f2a1b'
const URL_INPUT = {
  'callback-url': `https://relay.example.com/callbacks/${TOKEN}`,
  'job-status': 'success',
}

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-settings-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
// The workflow commands @actions/core writes (::add-mask::) are checked where they matter.
beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockReturnValue(true)
})
afterEach(() => {
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

function eventFile(payload: unknown): string {
  const path = join(dir, `event-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, JSON.stringify(payload))
  return path
}

function settingsError(): string {
  try {
    getSettings()
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError)
    return (error as Error).message
  }
  throw new Error('getSettings() did not fail')
}

describe('getSettings', () => {
  it('applies the defaults of action.yml and of the run', () => {
    stubActionEnv(URL_INPUT, {
      GITHUB_WORKFLOW: 'Deploy',
      GITHUB_JOB: 'rollout',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/deploy',
      GITHUB_RUN_ID: '77',
      GITHUB_RUN_ATTEMPT: '2',
    })
    expect(getSettings()).toEqual({
      callbackUrl: new URL(URL_INPUT['callback-url']),
      state: null,
      jobStatus: 'success',
      description: null,
      context: 'Deploy / rollout',
      targetUrl: 'https://github.com/acme/deploy/actions/runs/77/attempts/2',
      testResults: [],
      timeoutMs: 10_000,
      retries: 3,
      backoffMs: 1000,
    })
  })

  it('takes every input that is given', () => {
    stubActionEnv({
      ...URL_INPUT,
      state: 'Pending',
      description: 'Deploying v1.2.0',
      context: 'Acme deploy',
      'target-url': 'https://deploy.acme.dev/releases/12',
      'test-results': 'reports/**/*.xml, junit.xml',
      'timeout-seconds': '2.5',
      retries: '0',
    })
    expect(getSettings()).toMatchObject({
      state: 'pending',
      description: 'Deploying v1.2.0',
      context: 'Acme deploy',
      targetUrl: 'https://deploy.acme.dev/releases/12',
      testResults: ['reports/**/*.xml', 'junit.xml'],
      timeoutMs: 2500,
      retries: 0,
    })
  })

  it('reads the callback URL from the repository_dispatch event that started the run', () => {
    const callbackUrl = `https://relay.example.com/callbacks/${TOKEN}`
    stubActionEnv(
      { 'job-status': 'success' },
      {
        GITHUB_EVENT_NAME: 'repository_dispatch',
        GITHUB_EVENT_PATH: eventFile({
          action: 'deploy',
          client_payload: { callback_url: callbackUrl, step: 1 },
        }),
      },
    )
    expect(getSettings().callbackUrl.href).toBe(callbackUrl)
  })

  it('prefers the callback-url input to the event', () => {
    stubActionEnv(URL_INPUT, {
      GITHUB_EVENT_NAME: 'repository_dispatch',
      GITHUB_EVENT_PATH: eventFile({
        client_payload: { callback_url: 'https://other.example.com/callbacks/abcd' },
      }),
    })
    expect(getSettings().callbackUrl.host).toBe('relay.example.com')
  })

  it.each([
    [
      'a push',
      { GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: 'EVENT' },
      'No callback URL: this run was not started by a hookchain repository_dispatch (it was started by push). Set the callback-url input, or trigger the workflow with on: repository_dispatch.',
    ],
    [
      'a repository_dispatch without callback_url',
      { GITHUB_EVENT_NAME: 'repository_dispatch', GITHUB_EVENT_PATH: 'EVENT' },
      'No callback URL: the repository_dispatch event that started this run has no client_payload.callback_url, so it was not sent by hookchain. Set the callback-url input.',
    ],
    [
      'no event at all',
      {},
      'No callback URL: this run was not started by a hookchain repository_dispatch. Set the callback-url input, or trigger the workflow with on: repository_dispatch.',
    ],
  ])('fails with one line after %s', (_name, variables, message) => {
    const withEvent = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [
        k,
        v === 'EVENT' ? eventFile({ client_payload: {} }) : v,
      ]),
    )
    stubActionEnv({ 'job-status': 'success' }, withEvent)
    expect(settingsError()).toBe(message)
  })

  it.each([
    [
      'callback-url',
      'relay.example.com/callbacks/x',
      'Input "callback-url" is not a URL: expected an absolute http(s) URL',
    ],
    [
      'callback-url',
      'ftp://relay.example.com/callbacks/x',
      'Input "callback-url" must be an http(s) URL, not ftp',
    ],
    [
      'state',
      'passed',
      'Input "state" must be one of success, failure, error, pending (got "passed").',
    ],
    [
      'job-status',
      'skipped',
      'Input "job-status" must be one of success, failure, cancelled (got "skipped")',
    ],
    ['target-url', '/runs/42', 'Input "target-url" must be an absolute http(s) URL'],
    [
      'target-url',
      'https://user@github.com/x',
      'Input "target-url" must be an absolute http(s) URL',
    ],
    [
      'timeout-seconds',
      'ten',
      'Input "timeout-seconds" must be a number of seconds above 0 and at most 300 (got "ten").',
    ],
    ['timeout-seconds', '0', 'Input "timeout-seconds" must be a number of seconds above 0'],
    ['timeout-seconds', '301', 'Input "timeout-seconds" must be a number of seconds above 0'],
    ['retries', '1.5', 'Input "retries" must be a whole number from 0 to 10 (got "1.5").'],
    ['retries', '-1', 'Input "retries" must be a whole number from 0 to 10'],
    ['retries', '11', 'Input "retries" must be a whole number from 0 to 10'],
  ])('rejects %s "%s", naming the input and what it takes', (input, value, message) => {
    stubActionEnv({ ...URL_INPUT, [input]: value })
    expect(settingsError()).toContain(message)
  })

  it('asks for a state when job-status is empty too', () => {
    stubActionEnv({ 'callback-url': URL_INPUT['callback-url'] })
    expect(settingsError()).toBe(
      'Neither the state input nor job-status is set: set state to one of success, failure, error, ' +
        `pending, or leave job-status at its default ${'$'}{{ job.status }}.`,
    )
  })

  it('reports every wrong input at once, one per line', () => {
    stubActionEnv({ ...URL_INPUT, state: 'ok', retries: 'many' })
    expect(settingsError().split('\n')).toEqual([
      expect.stringContaining('Input "state"'),
      expect.stringContaining('Input "retries"'),
    ])
  })

  it('takes the backoff from HOOKCHAIN_BACKOFF_MS, for tests', () => {
    stubActionEnv(URL_INPUT, { HOOKCHAIN_BACKOFF_MS: '5' })
    expect(getSettings().backoffMs).toBe(5)
    stubActionEnv(URL_INPUT, { HOOKCHAIN_BACKOFF_MS: 'fast' })
    expect(settingsError()).toContain('HOOKCHAIN_BACKOFF_MS must be a number of milliseconds')
  })

  it('masks the callback token before anything else is written', async () => {
    stubActionEnv({ ...URL_INPUT, state: 'bogus' })
    const stdout = await captureStdout(() => expect(() => getSettings()).toThrow(SettingsError))
    expect(stdout).toBe(`::add-mask::${TOKEN}\n`)
  })

  it('masks a callback URL that comes from the event too', async () => {
    stubActionEnv(
      { 'job-status': 'success' },
      {
        GITHUB_EVENT_NAME: 'repository_dispatch',
        GITHUB_EVENT_PATH: eventFile({
          client_payload: { callback_url: `https://relay.example.com/callbacks/${TOKEN}` },
        }),
      },
    )
    const stdout = await captureStdout(() => getSettings())
    expect(stdout).toContain(`::add-mask::${TOKEN}`)
  })
})
