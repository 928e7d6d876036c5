import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GitHubSettings } from '../../../src/relay/config/settings.js'
import { createGitHubDispatcher } from '../../../src/relay/deliverers/github-dispatcher.js'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../../support/github-stand-in.js'
import { startLoopbackServer } from '../../support/loopback-server.js'

const payload = {
  callback_url: 'https://relay.example.com/callbacks/s3cr3tT0kenThatMustNotLeak0123456789abcdef',
  run_id: 'run-1',
  chain: 'release',
  step: 1,
  steps: 2,
}
const SECONDARY =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'

let standIn: GitHubStandIn

beforeEach(async () => {
  standIn = await startGitHubStandIn()
})
afterEach(async () => {
  await standIn.close()
})

function tokenSettings(token = STAND_IN_TOKEN): GitHubSettings {
  return { apiUrl: standIn.url, auth: { kind: 'token', token }, writesPerMinute: 0 }
}

function dispatcher(overrides: Partial<Parameters<typeof createGitHubDispatcher>[0]> = {}) {
  return createGitHubDispatcher({
    github: tokenSettings(),
    log: { warn: () => {} },
    ...overrides,
  })
}

describe('a dispatch GitHub accepts', () => {
  it('is delivered with the event type and client_payload, and one attempt recorded', async () => {
    const limits: number[] = []
    const outcome = await dispatcher({
      onRateLimit: (remaining) => limits.push(remaining),
    }).dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind).toBe('delivered')
    expect(standIn.dispatches).toMatchObject([
      { repository: 'acme/deploy', eventType: 'image-pushed', clientPayload: payload },
    ])
    expect(standIn.dispatches[0]?.headers.authorization).toBe(`token ${STAND_IN_TOKEN}`)
    expect(outcome.attempts).toHaveLength(1)
    const [attempt] = outcome.attempts
    expect(attempt).toMatchObject({ target: 'acme/deploy', status: 204, error: null })
    expect(attempt?.durationMs).toBeGreaterThanOrEqual(0)
    expect(Date.parse(attempt?.startedAt ?? '')).not.toBeNaN()
    expect(limits).toEqual([4999])
  })

  it('keeps the callback token and the GitHub token out of the recorded request', async () => {
    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    const recorded = JSON.stringify(outcome.attempts)
    expect(recorded).not.toContain('s3cr3tT0ken')
    expect(recorded).not.toContain(STAND_IN_TOKEN)
    expect(outcome.attempts[0]?.request).toMatchObject({
      method: 'POST',
      url: `${standIn.url}/repos/acme/deploy/dispatches`,
      body: {
        event_type: 'image-pushed',
        client_payload: {
          callback_url: 'https://relay.example.com/callbacks/[redacted]',
          run_id: 'run-1',
        },
      },
    })
  })

  it("leaves pacing to the relay: no 1 write/s of Octokit's own", async () => {
    const github = dispatcher()
    const started = Date.now()

    for (let i = 0; i < 5; i++) await github.dispatch('acme/deploy', 'image-pushed', payload)

    expect(standIn.dispatches).toHaveLength(5)
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('a GitHub that fails for a while', () => {
  it('hands a 5xx to the outbox at once, with the one attempt recorded', async () => {
    standIn.fail(1, { status: 502 })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: null })
    expect(outcome.attempts.map((a) => a.status)).toEqual([502])
    expect(outcome.kind === 'retry' && outcome.error).toMatch(/^GitHub answered 502 Bad Gateway/)
    expect(standIn.requests).toHaveLength(1)
    // The outbox's next try goes through.
    const next = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)
    expect(next.kind).toBe('delivered')
    expect(standIn.dispatches).toHaveLength(1)
  })

  it('returns a 429 with a long Retry-After at once, for the outbox to wait', async () => {
    standIn.fail(1, { status: 429, headers: { 'retry-after': '120' } })
    const started = Date.now()

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 120_000 })
    expect(outcome.attempts).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('returns a secondary rate limit 403 as retry, advising slower writes', async () => {
    standIn.fail(1, { status: 403, headers: { 'retry-after': '90' }, body: { message: SECONDARY } })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 90_000 })
    expect(outcome.kind === 'retry' && outcome.error).toMatch(
      /secondary rate limit.*writes_per_minute/,
    )
    expect(outcome.attempts).toHaveLength(1)
  })

  it('waits out a secondary rate limit without Retry-After for a minute, in the outbox', async () => {
    standIn.fail(1, { status: 403, body: { message: SECONDARY } })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 60_000 })
  })

  it('leaves even a short secondary rate limit to the outbox, holding nothing in process', async () => {
    standIn.fail(1, { status: 403, headers: { 'retry-after': '1' }, body: { message: SECONDARY } })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 1000 })
    expect(outcome.attempts.map((a) => a.status)).toEqual([403])
  })

  it('waits for the reset when the primary rate limit is used up', async () => {
    const reset = Math.floor(Date.now() / 1000) + 600
    standIn.fail(1, {
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded for installation ID 42.' },
    })
    const seen: Array<[number, Date]> = []

    const outcome = await dispatcher({ onRateLimit: (n, at) => seen.push([n, at]) }).dispatch(
      'acme/deploy',
      'image-pushed',
      payload,
    )

    expect(outcome.kind).toBe('retry')
    const wait = outcome.kind === 'retry' ? (outcome.retryAfterMs ?? 0) : 0
    expect(wait).toBeGreaterThan(590_000)
    expect(wait).toBeLessThanOrEqual(600_000)
    expect(seen).toEqual([[0, new Date(reset * 1000)]])
  })

  it('gives up on a GitHub that does not answer, after the timeout and without retrying in process', async () => {
    standIn.hang(5)

    const outcome = await dispatcher({ timeoutMs: 200 }).dispatch(
      'acme/deploy',
      'image-pushed',
      payload,
    )

    expect(outcome).toMatchObject({ kind: 'retry', error: 'GitHub did not answer within 0.2 s' })
    expect(outcome.attempts).toMatchObject([
      { status: null, error: 'GitHub did not answer within 0.2 s' },
    ])
    expect(standIn.requests).toHaveLength(1)
  })

  it('retries when GitHub cannot be reached', async () => {
    const closed = await startLoopbackServer(() => {})
    await closed.close()

    const outcome = await dispatcher({
      github: { apiUrl: closed.url, auth: { kind: 'token', token: 't' }, writesPerMinute: 0 },
    }).dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind).toBe('retry')
    expect(outcome.kind === 'retry' && outcome.error).toMatch(
      new RegExp(`^could not reach GitHub at ${closed.url}: .*ECONNREFUSED`),
    )
    expect(outcome.attempts).toHaveLength(1)
    expect(outcome.attempts[0]?.status).toBe(null)
  })
})

describe('a dispatch GitHub refuses', () => {
  it('fails on bad credentials, saying which setting to fix', async () => {
    const outcome = await dispatcher({ github: tokenSettings('ghp_wrong') }).dispatch(
      'acme/deploy',
      'image-pushed',
      payload,
    )

    expect(outcome).toMatchObject({ kind: 'failed' })
    expect(outcome.kind === 'failed' && outcome.error).toBe(
      'GitHub answered 401 Unauthorized ("Bad credentials"): the token is invalid or expired; set a valid github.token in the relay config',
    )
    expect(outcome.attempts).toHaveLength(1)
  })

  it('fails for a repository that does not exist or cannot be seen', async () => {
    standIn.setRepositories(['acme/deploy'])

    const outcome = await dispatcher().dispatch('acme/missing', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toBe(
      'GitHub answered 404 Not Found ("Not Found"): the repository acme/missing does not exist or the token cannot see it (needs contents: write)',
    )
  })

  it('fails on a 403 that is not a rate limit, naming the permission needed', async () => {
    standIn.fail(1, { status: 403 })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^GitHub answered 403 Forbidden \("Resource not accessible by integration"\): the token may not dispatch to acme\/deploy; it needs contents: write/,
    )
  })

  it("fails on a 422, quoting GitHub's message and errors", async () => {
    standIn.fail(1, {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          { resource: 'Repository', field: 'event_type', code: 'invalid', message: 'is odd' },
        ],
      },
    })

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^GitHub answered 422 Unprocessable Entity \("Validation Failed"\) \[event_type is odd\]: GitHub refused the dispatch to acme\/deploy/,
    )
    expect(outcome.attempts).toHaveLength(1)
  })

  it('fails at once without credentials', async () => {
    const outcome = await dispatcher({
      github: { apiUrl: standIn.url, auth: null, writesPerMinute: 0 },
    }).dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome).toEqual({
      kind: 'failed',
      attempts: [],
      error: 'no GitHub credentials: set github.token or github.app in the relay config',
    })
    expect(standIn.requests).toHaveLength(0)
  })

  it("fails without sending a request over GitHub's limits", async () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]))

    const outcome = await dispatcher().dispatch('acme/deploy', 'image-pushed', eleven)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^not sent to acme\/deploy: client_payload has 11 top-level keys .*at most 10$/,
    )
    expect(standIn.requests).toHaveLength(0)
  })

  it('fails for a repository that is not owner/name', async () => {
    const outcome = await dispatcher().dispatch('acme', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(/owner\/name, not "acme"/)
  })
})

describe('GitHub App credentials', () => {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  })

  async function appStandIn() {
    await standIn.close()
    standIn = await startGitHubStandIn({
      app: { appId: '1234', publicKey: keys.publicKey, installationId: 42 },
    })
  }

  function appSettings(installationId = 42): GitHubSettings {
    return {
      apiUrl: standIn.url,
      auth: { kind: 'app', appId: '1234', privateKey: keys.privateKey, installationId },
      writesPerMinute: 0,
    }
  }

  it('gets an installation token with a signed JWT, dispatches with it and reuses it', async () => {
    await appStandIn()
    const github = dispatcher({ github: appSettings() })

    const first = await github.dispatch('acme/deploy', 'image-pushed', payload)
    const second = await github.dispatch('acme/tests', 'image-pushed', payload)

    expect(first.kind).toBe('delivered')
    expect(second.kind).toBe('delivered')
    expect(standIn.issuedTokens).toHaveLength(1)
    expect(standIn.dispatches.map((d) => d.headers.authorization)).toEqual([
      `token ${standIn.issuedTokens[0]}`,
      `token ${standIn.issuedTokens[0]}`,
    ])
    expect(first.attempts.map((a) => [a.target, a.status])).toEqual([
      [`${standIn.url}/app/installations/42/access_tokens`, 201],
      ['acme/deploy', 204],
    ])
    expect(second.attempts.map((a) => a.status)).toEqual([204])
    expect(JSON.stringify(first.attempts)).not.toContain(standIn.issuedTokens[0])
  })

  it('fails with advice when the installation does not belong to the app', async () => {
    await appStandIn()

    const outcome = await dispatcher({ github: appSettings(7) }).dispatch(
      'acme/deploy',
      'image-pushed',
      payload,
    )

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^GitHub answered 404 Not Found \("Not Found"\): installation 7 does not exist or does not belong to GitHub App 1234; check github.app.installation_id$/,
    )
    expect(standIn.dispatches).toHaveLength(0)
  })

  it('fails when GitHub does not accept the JWT of another key', async () => {
    await appStandIn()
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    })
    const github: GitHubSettings = {
      ...appSettings(),
      auth: { kind: 'app', appId: '1234', privateKey: other.privateKey, installationId: 42 },
    }

    const outcome = await dispatcher({ github }).dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^GitHub answered 401 Unauthorized \("A JSON web token could not be decoded"\): GitHub refused the app's JWT/,
    )
  })

  it('fails without a request for a private key that is not one', async () => {
    const github: GitHubSettings = {
      ...appSettings(),
      auth: { kind: 'app', appId: '1234', privateKey: 'not a key', installationId: 42 },
    }

    const outcome = await dispatcher({ github }).dispatch('acme/deploy', 'image-pushed', payload)

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /^the GitHub App private key cannot be read \(.+\): github.app.private_key_file must hold the PEM key/,
    )
    expect(standIn.requests).toHaveLength(0)
  })
})
