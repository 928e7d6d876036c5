import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  getSettings,
  type ReportSettings,
  SettingsError,
  type StartSettings,
} from '../../src/action/settings.js'
import { CHAIN_NAME_PATTERN } from '../../src/action/start-inputs.js'
import { CHAIN_NAME_PATTERN as RELAY_CHAIN_NAME_PATTERN } from '../../src/relay/config/schema.js'
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

function reportSettings(): ReportSettings {
  const settings = getSettings()
  if (settings.mode !== 'report') throw new Error(`getSettings() chose ${settings.mode} mode`)
  return settings
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
      mode: 'report',
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
    expect(reportSettings().callbackUrl.href).toBe(callbackUrl)
  })

  it('prefers the callback-url input to the event', () => {
    stubActionEnv(URL_INPUT, {
      GITHUB_EVENT_NAME: 'repository_dispatch',
      GITHUB_EVENT_PATH: eventFile({
        client_payload: { callback_url: 'https://other.example.com/callbacks/abcd' },
      }),
    })
    expect(reportSettings().callbackUrl.host).toBe('relay.example.com')
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

describe('getSettings in start mode', () => {
  const RUNNER = {
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_SHA: '8f14e45fceea167a5a36dedd4bea2543a1b2c3d4',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.example/idtoken?api-version=2.0',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime-token',
  }
  const DIGEST_IMAGE = `ghcr.io/acme/app@sha256:${'0f'.repeat(32)}`
  const START = {
    chain: 'release',
    'relay-url': 'https://relay.example.com',
    image: DIGEST_IMAGE,
  }

  function startSettings(): StartSettings {
    const settings = getSettings()
    if (settings.mode !== 'start') throw new Error(`getSettings() chose ${settings.mode} mode`)
    return settings
  }

  it('starts a chain when chain is given, with the defaults of action.yml', () => {
    stubActionEnv(START, RUNNER)
    expect(startSettings()).toEqual({
      mode: 'start',
      relayUrl: new URL('https://relay.example.com'),
      chain: 'release',
      image: DIGEST_IMAGE,
      source: { repository: 'acme/app', sha: RUNNER.GITHUB_SHA },
      wait: false,
      waitMs: 3_600_000,
      idToken: {
        requestUrl: RUNNER.ACTIONS_ID_TOKEN_REQUEST_URL,
        requestToken: 'runtime-token',
        audience: 'hookchain',
      },
      warnings: [],
      timeoutMs: 10_000,
      retries: 3,
      backoffMs: 1000,
    })
  })

  it('takes every start input, and the defaults the runner passes for report mode', () => {
    stubActionEnv(
      {
        ...START,
        'relay-url': 'https://acme.example.com/hookchain/',
        wait: 'True',
        'wait-minutes': '7.5',
        audience: 'relay.acme.example.com',
        'job-status': 'success',
        'timeout-seconds': '5',
        retries: '1',
      },
      RUNNER,
    )
    expect(startSettings()).toMatchObject({
      relayUrl: new URL('https://acme.example.com/hookchain/'),
      wait: true,
      waitMs: 450_000,
      idToken: { audience: 'relay.acme.example.com' },
      timeoutMs: 5000,
      retries: 1,
    })
  })

  it.each([
    ['a tag', 'ghcr.io/acme/app:v1.2.0'],
    ['no tag', 'acme/app'],
  ])('warns when the image has %s but no digest', (_name, image) => {
    stubActionEnv({ ...START, image }, RUNNER)
    expect(startSettings().warnings).toEqual([
      expect.stringMatching(
        /^Input "image" has no digest \(.+\): the chain's steps get whatever the tag points to/,
      ),
    ])
  })

  it('takes a reference with a tag and a digest without warning', () => {
    stubActionEnv({ ...START, image: ` ghcr.io/acme/app:v1@sha256:${'0f'.repeat(32)} ` }, RUNNER)
    expect(startSettings()).toMatchObject({
      image: `ghcr.io/acme/app:v1@sha256:${'0f'.repeat(32)}`,
      warnings: [],
    })
  })

  it('warns when the relay URL is plain http to another machine', () => {
    stubActionEnv({ ...START, 'relay-url': 'http://relay.example.com' }, RUNNER)
    expect(startSettings().warnings).toEqual([
      expect.stringContaining('Input "relay-url" is plain http: the job\'s OIDC token'),
    ])
    stubActionEnv({ ...START, 'relay-url': 'http://127.0.0.1:8080' }, RUNNER)
    expect(startSettings().warnings).toEqual([])
  })

  it.each([
    [
      'relay-url',
      '',
      'Input "relay-url" is required with chain: the base URL of the hookchain relay, e.g. https://relay.example.com.',
    ],
    ['relay-url', 'relay.example.com', 'Input "relay-url" is not a URL'],
    [
      'relay-url',
      'https://relay.example.com/?chain=release',
      'Input "relay-url" must be the relay\'s base URL, without user info, query or fragment',
    ],
    ['chain', '-release', 'Input "chain" must be a chain name of the relay\'s config'],
    ['chain', 'release/nightly', 'Input "chain" must be a chain name of the relay\'s config'],
    ['image', '', 'Input "image" is required with chain'],
    ['image', 'ghcr.io/acme/app v1', 'Input "image" must be one image reference, without spaces'],
    [
      'image',
      'ghcr.io/acme/app@',
      'Input "image" must end with a digest after "@", e.g. ghcr.io/acme/app@sha256:… (got "ghcr.io/acme/app@"). Is the build step\'s digest output empty?',
    ],
    ['wait', 'yes', 'Input "wait" must be true or false (got "yes").'],
    [
      'wait-minutes',
      '0',
      'Input "wait-minutes" must be a number of minutes above 0 and at most 7200 (got "0").',
    ],
    ['wait-minutes', 'an hour', 'Input "wait-minutes" must be a number of minutes above 0'],
    ['audience', 'my relay', 'Input "audience" must be one word'],
  ])('rejects %s "%s", naming the input and what it takes', (input, value, message) => {
    stubActionEnv({ ...START, [input]: value }, RUNNER)
    expect(settingsError()).toContain(message)
  })

  it('names the report inputs that do not mix with chain', () => {
    stubActionEnv(
      { ...START, 'callback-url': URL_INPUT['callback-url'], 'test-results': 'junit.xml' },
      RUNNER,
    )
    expect(settingsError()).toBe(
      'Inputs "callback-url", "test-results" do not mix with chain: with chain set, the Action starts a chain and reports no callback. Report from a separate step, or remove chain.',
    )
  })

  it('names the start inputs given without chain', () => {
    stubActionEnv({
      ...URL_INPUT,
      'relay-url': 'https://relay.example.com',
      wait: 'true',
      // What the runner passes when they are left out: no mistake.
      'wait-minutes': '60',
      audience: 'hookchain',
    })
    expect(settingsError()).toBe(
      'Inputs "relay-url", "wait" are for starting a chain: set chain too, or remove them to report a callback.',
    )
  })

  it('asks for id-token permission, in one line, when the runner offers no OIDC token', () => {
    stubActionEnv(START, { ...RUNNER, ACTIONS_ID_TOKEN_REQUEST_URL: '' })
    expect(settingsError()).toBe(
      'This job cannot get an OIDC token, which the relay needs to know who starts the chain: give the job `permissions: id-token: write` (a pull request from a fork never gets one).',
    )
  })

  it('needs the repository and commit of the run', () => {
    stubActionEnv(START, { ...RUNNER, GITHUB_SHA: '' })
    expect(settingsError()).toContain('GITHUB_REPOSITORY and GITHUB_SHA are not set')
  })

  it('reports every wrong input at once, one per line', () => {
    stubActionEnv({ chain: 'release', wait: 'maybe' }, {})
    expect(settingsError().split('\n')).toEqual([
      expect.stringContaining('Input "relay-url" is required'),
      expect.stringContaining('Input "image" is required'),
      expect.stringContaining('Input "wait" must be true or false'),
      expect.stringContaining('GITHUB_REPOSITORY and GITHUB_SHA'),
      expect.stringContaining('permissions: id-token: write'),
    ])
  })

  it('checks chain names as the relay does', () => {
    expect(CHAIN_NAME_PATTERN).toBe(RELAY_CHAIN_NAME_PATTERN)
  })
})
