import type { JWTPayload } from 'jose'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import {
  epoch,
  githubJobClaims,
  type LocalOidcIssuer,
  type SigningChoice,
  startOidcIssuer,
  unsignedToken,
} from '../../support/oidc-issuer.js'
import {
  eventually,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

// Starting a chain from a workflow: the job's OIDC token checked against a local issuer, as the
// relay checks GitHub's, and the run token that follows.

const REPOSITORY = 'acme/app'
const SHA = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'
const IMAGE = `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}`

const release: Chain = {
  name: 'release',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  start: { repositories: ['acme/app', 'acme/tools-*'] },
  steps: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' }],
}
const pushOnly: Chain = { ...release, name: 'push-only', start: null }

let github: GitHubStandIn
let issuer: LocalOidcIssuer
let t: TestRelay
const logs: string[] = []

beforeAll(async () => {
  github = await startGitHubStandIn()
  issuer = await startOidcIssuer()
  const settings = testSettings(github.url, { chains: [release, pushOnly] })
  settings.github.oidc = { issuer: issuer.url, audience: 'hookchain' }
  t = await startTestRelay(settings, {
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
  })
})
afterAll(async () => {
  await t.close()
  await issuer.close()
  await github.close()
})

function token(changes: JWTPayload = {}, choice?: SigningChoice, repository = REPOSITORY) {
  return issuer.sign(githubJobClaims(issuer, { repository, sha: SHA }, changes), choice)
}

function start(
  bearer: string | null,
  body: unknown = { image: IMAGE, source: { repository: REPOSITORY, sha: SHA } },
  { chain = 'release', headers = {} }: { chain?: string; headers?: Record<string, string> } = {},
) {
  return fetch(`${t.url}/api/chains/${chain}/runs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

async function refusal(response: Response) {
  const body = (await response.json()) as { type: string; detail: string }
  return {
    status: response.status,
    type: body.type.replace('urn:hookchain:problem:', ''),
    detail: body.detail,
  }
}

describe('starting a chain with a GitHub OIDC token', () => {
  it('starts the chain for a token of an allowed repository, and records the workflow run', async () => {
    const response = await start(await token())
    expect(response.status).toBe(201)
    const { run, url, run_token } = (await response.json()) as {
      run: RunJson
      url: string
      run_token: string
    }
    expect(url).toBe(`http://relay.test/runs/${run.id}`)
    expect(run_token).toMatch(/^hcrun_[A-Za-z0-9_-]{43}$/)
    expect(run).toMatchObject({
      chain: 'release',
      source: 'workflow',
      state: 'running',
      image: { registry: 'ghcr.io', repository: 'acme/app', tag: null, reference: IMAGE },
      pusher: 'octo-dev',
      origin: {
        kind: 'workflow',
        repository: REPOSITORY,
        sha: SHA,
        url: `${github.url}/acme/app/actions/runs/4242/attempts/1`,
        workflow_ref: 'acme/app/.github/workflows/build.yml@refs/heads/main',
        actor: 'octo-dev',
      },
      source_commit: { repository: REPOSITORY, sha: SHA, from: 'start-request' },
      steps: [{ target: 'acme/deploy', state: 'dispatching' }],
    })
    const [dispatch] = await github.waitForDispatches(1)
    expect(dispatch?.clientPayload).toMatchObject({
      run_id: run.id,
      source: 'workflow',
      image: { reference: IMAGE },
    })
    const events = await t.api<{ events: { source: string; runs: string[] }[] }>(
      '/api/events?source=workflow',
    )
    expect(events.events[0]).toMatchObject({ source: 'workflow', runs: [run.id] })
  })

  it('takes the source from the token when the request leaves it out, and globs in start.repositories', async () => {
    const response = await start(await token({}, undefined, 'acme/tools-cli'), { image: IMAGE })
    expect(response.status).toBe(201)
    const { run } = (await response.json()) as { run: RunJson }
    expect(run.source_commit).toEqual({
      repository: 'acme/tools-cli',
      sha: SHA,
      from: 'start-request',
    })
  })

  it('starts one run for one token sent twice (an answer lost on the way), and a new one for a new token', async () => {
    const job = await token()
    const first = (await (await start(job)).json()) as { run: RunJson; run_token: string }
    const again = await start(job)
    expect(again.status).toBe(200)
    const second = (await again.json()) as { run: RunJson; run_token: string }
    expect(second.run.id).toBe(first.run.id)
    expect(second.run_token).not.toBe(first.run_token)
    const other = (await (await start(await token())).json()) as { run: RunJson }
    expect(other.run.id).not.toBe(first.run.id)
  })

  it.each<[string, () => Promise<string>, string]>([
    [
      'an expired token',
      () => token({ exp: epoch(-120), iat: epoch(-420) }),
      'the token expired at',
    ],
    [
      'a token for another audience',
      () => token({ aud: 'https://github.com/acme' }),
      'the token is for the audience "https://github.com/acme"; its audience must be "hookchain" (github.oidc.audience in the relay config)',
    ],
    [
      'a token signed with a key the issuer does not publish',
      () => token({}, { key: 'other-key' }),
      "the token's signature does not verify",
    ],
    [
      'an unsigned token (alg: none)',
      async () => unsignedToken(githubJobClaims(issuer, { repository: REPOSITORY, sha: SHA })),
      'the token is signed with "none"',
    ],
    [
      "a token signed with the issuer's public key as an HMAC secret",
      () => token({}, { alg: 'HS256' }),
      'the token is signed with "HS256"',
    ],
    [
      'a token of another issuer',
      () => token({ iss: 'https://token.actions.githubusercontent.com' }),
      'the token was issued by "https://token.actions.githubusercontent.com"',
    ],
    [
      'a token of something other than a job',
      () => token({ repository: undefined, sha: undefined }),
      'it has no "repository" and "sha" claims of a GitHub Actions job',
    ],
  ])('refuses %s with 401, saying why', async (_name, make, detail) => {
    const response = await start(await make())
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="hookchain"/)
    const refused = await refusal(response)
    expect(refused).toMatchObject({ status: 401, type: 'token-not-accepted' })
    expect(refused.detail).toContain(detail)
  })

  it('refuses a repository that start.repositories does not name, and a chain without start', async () => {
    const other = await token({}, undefined, 'acme/other')
    expect(await refusal(await start(other, { image: IMAGE }))).toEqual({
      status: 403,
      type: 'repository-not-allowed',
      detail:
        'acme/other may not start chain "release": it is not in the chain\'s start.repositories; add it there in the relay config.',
    })
    expect(
      await refusal(await start(await token(), { image: IMAGE }, { chain: 'push-only' })),
    ).toEqual({
      status: 403,
      type: 'chain-not-startable',
      detail:
        'Chain "push-only" has no start, so no workflow may start it: add start: { repositories: [acme/app] } to it in the relay config.',
    })
  })

  it('refuses a source other than the workflow run of the token, and an image without tag or digest', async () => {
    const job = await token()
    const elsewhere = await start(job, {
      image: IMAGE,
      source: { repository: 'acme/app', sha: 'b'.repeat(40) },
    })
    expect(await refusal(elsewhere)).toMatchObject({ status: 422, type: 'invalid-start' })
    const untagged = await refusal(await start(job, { image: 'ghcr.io/acme/app' }))
    expect(untagged).toEqual({
      status: 422,
      type: 'invalid-start',
      detail: '"image" names neither a tag nor a digest: add one, like :v1.2.0 or @sha256:….',
    })
  })

  it('refuses a request a browser sends from another site, whatever its token', async () => {
    const job = await token()
    const browsers: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example.com' },
    ]
    for (const headers of browsers) {
      expect(await refusal(await start(job, undefined, { headers }))).toMatchObject({
        status: 403,
        type: 'cross-site-request',
      })
    }
    // The form types a page may post from anywhere are refused before anything else.
    const form = await start(job, `image=${IMAGE}`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(415)
  })

  it('lets the admin start a chain without start, and the admin token is no OIDC token', async () => {
    const byAdmin = await start(
      SECRETS.admin,
      { image: 'docker.io/acme/app:v2' },
      { chain: 'push-only' },
    )
    expect(byAdmin.status).toBe(201)
    const { run } = (await byAdmin.json()) as { run: RunJson }
    expect(run.origin).toEqual({ kind: 'admin', by: 'admin' })
    expect(run.source_commit).toBeNull()
    expect(await refusal(await start('not-the-admin-token', { image: IMAGE }))).toMatchObject({
      status: 401,
      type: 'token-not-accepted',
    })
  })

  it('answers 503 with Retry-After while the issuer cannot be reached, and starts nothing', async () => {
    const gone = await startOidcIssuer()
    const job = await gone.sign(githubJobClaims(gone, { repository: REPOSITORY, sha: SHA }))
    await gone.close()
    const settings = testSettings(github.url, { chains: [release] })
    settings.github.oidc = { issuer: gone.url, audience: 'hookchain' }
    const other = await startTestRelay(settings)
    try {
      const response = await fetch(`${other.url}/api/chains/release/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${job}`, 'content-type': 'application/json' },
        body: JSON.stringify({ image: IMAGE }),
      })
      expect(response.status).toBe(503)
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
      expect((await refusal(response)).type).toBe('identity-unavailable')
      expect((await other.api<{ runs: unknown[] }>('/api/runs')).runs).toEqual([])
    } finally {
      await other.close()
    }
  })
})

describe('a run token', () => {
  async function started() {
    const response = await start(await token())
    return (await response.json()) as { run: RunJson; run_token: string }
  }
  const read = (path: string, runToken: string, init: RequestInit = {}) =>
    fetch(`${t.url}${path}`, { ...init, headers: { authorization: `Bearer ${runToken}` } })

  it('reads its own run, and nothing else', async () => {
    const mine = await started()
    const theirs = await started()
    const own = await read(`/api/runs/${mine.run.id}`, mine.run_token)
    expect(own.status).toBe(200)
    expect(((await own.json()) as RunJson).id).toBe(mine.run.id)
    for (const [path, method] of [
      [`/api/runs/${theirs.run.id}`, 'GET'],
      ['/api/runs', 'GET'],
      ['/api/events', 'GET'],
      [`/api/runs/${mine.run.id}/cancel`, 'POST'],
    ] as const) {
      const refused = await refusal(await read(path, mine.run_token, { method }))
      expect(refused).toEqual({
        status: 403,
        type: 'outside-run-token',
        detail: `A run token reads its own run only, with GET /api/runs/${mine.run.id}; anything else takes the admin token.`,
      })
    }
    expect(
      (
        await fetch(`${t.url}/runs/${mine.run.id}`, {
          headers: { authorization: `Bearer ${mine.run_token}` },
        })
      ).status,
    ).toBe(401)
  })

  it('is refused when unknown', async () => {
    const response = await read(
      '/api/runs/0193b0c0-0000-7000-8000-000000000000',
      `hcrun_${'A'.repeat(43)}`,
    )
    expect(await refusal(response)).toMatchObject({ status: 401, type: 'run-token-not-accepted' })
  })

  it('is kept only as its hash, and no token shows in the logs', async () => {
    const job = await token()
    const response = await start(job)
    const { run_token: runToken } = (await response.json()) as { run_token: string }
    await read('/api/runs/0193b0c0-0000-7000-8000-000000000000', runToken)
    await eventually(() => (logs.some((line) => line.includes('started by')) ? true : undefined))
    const text = logs.join('\n')
    expect(text).not.toContain(job)
    expect(text).not.toContain(runToken)
    expect(text).not.toContain(SECRETS.admin)
    const stored = t.relay.store
    expect(await stored.findRunToken(runToken)).toBeNull()
  })
})
