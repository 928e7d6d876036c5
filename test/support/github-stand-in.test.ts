import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { type GitHubStandIn, STAND_IN_TOKEN, startGitHubStandIn } from './github-stand-in.js'

let standIn: GitHubStandIn | undefined

afterEach(async () => {
  await standIn?.close()
  standIn = undefined
})

async function start(options?: Parameters<typeof startGitHubStandIn>[0]) {
  standIn = await startGitHubStandIn(options)
  return standIn
}

function post(
  url: string,
  body: unknown,
  authorization: string | null = `token ${STAND_IN_TOKEN}`,
) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

function appJwt(privateKey: KeyObject, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), privateKey).toString('base64url')}`
}

describe('the stand-in for repository dispatches', () => {
  it('accepts a valid dispatch with 204 and records it', async () => {
    const github = await start()

    const response = await post(`${github.url}/repos/acme/deploy/dispatches`, {
      event_type: 'deploy',
      client_payload: { step: 1 },
    })

    expect(response.status).toBe(204)
    expect(await github.waitForDispatches(1)).toMatchObject([
      { repository: 'acme/deploy', eventType: 'deploy', clientPayload: { step: 1 } },
    ])
    expect(github.requests).toMatchObject([
      { method: 'POST', path: '/repos/acme/deploy/dispatches', status: 204 },
    ])
    expect(response.headers.get('x-ratelimit-remaining')).toBe('4999')
  })

  it.each([
    ['no event_type', { client_payload: {} }, /event_type/],
    ['an empty event_type', { event_type: '' }, /event_type must NOT have fewer than 1 characters/],
    [
      'an event_type over 100 characters',
      { event_type: 'x'.repeat(101) },
      /more than 100 characters/,
    ],
    [
      'a client_payload that is not an object',
      { event_type: 'e', client_payload: [1] },
      /client_payload must be object/,
    ],
    [
      'a client_payload of 11 keys',
      {
        event_type: 'e',
        client_payload: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i])),
      },
      /client_payload must NOT have more than 10 properties/,
    ],
    [
      'a client_payload of 64 KB',
      { event_type: 'e', client_payload: { pad: 'x'.repeat(65_530) } },
      /less than 64KB/,
    ],
  ])(
    'refuses a body with %s as GitHub does (422, from the OpenAPI schema)',
    async (_, body, message) => {
      const github = await start()

      const response = await post(`${github.url}/repos/acme/deploy/dispatches`, body)
      const answer = (await response.json()) as {
        message: string
        documentation_url: string
        errors: unknown[]
      }

      expect(response.status).toBe(422)
      expect(answer.message).toMatch(/^Invalid request\./)
      expect(answer.message).toMatch(message)
      expect(answer.documentation_url).toMatch(/^https:\/\/docs\.github\.com\//)
      expect(answer.errors.length).toBeGreaterThan(0)
      expect(github.dispatches).toHaveLength(0)
    },
  )

  it('answers 400 to a body that is not JSON', async () => {
    const github = await start()

    const response = await post(`${github.url}/repos/acme/deploy/dispatches`, '{not json')

    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ message: 'Problems parsing JSON' })
  })

  it('answers 401 without a token or with a wrong one', async () => {
    const github = await start()
    const body = { event_type: 'e' }

    const missing = await post(`${github.url}/repos/acme/deploy/dispatches`, body, null)
    const wrong = await post(`${github.url}/repos/acme/deploy/dispatches`, body, 'Bearer ghp_nope')
    const bearer = await post(
      `${github.url}/repos/acme/deploy/dispatches`,
      body,
      `Bearer ${STAND_IN_TOKEN}`,
    )

    expect(missing.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ message: 'Bad credentials' })
    expect(bearer.status).toBe(204)
  })

  it('answers 404 for repositories that do not exist and for unknown routes', async () => {
    const github = await start({ repositories: ['acme/deploy'] })

    const known = await post(`${github.url}/repos/ACME/Deploy/dispatches`, { event_type: 'e' })
    const unknown = await post(`${github.url}/repos/acme/other/dispatches`, { event_type: 'e' })
    github.setRepositories(null)
    const anyNow = await post(`${github.url}/repos/acme/other/dispatches`, { event_type: 'e' })
    const route = await fetch(`${github.url}/user`)

    expect([known.status, unknown.status, anyNow.status, route.status]).toEqual([
      204, 404, 204, 404,
    ])
    expect(await unknown.json()).toMatchObject({ message: 'Not Found' })
  })

  it('fails and hangs the next requests when told, then answers normally', async () => {
    const github = await start()
    const url = `${github.url}/repos/acme/deploy/dispatches`
    github.fail(2, { status: 429, headers: { 'retry-after': '1' } })
    github.hang(1)

    const statuses = []
    for (let i = 0; i < 2; i++) statuses.push((await post(url, { event_type: 'e' })).status)
    const hung = fetch(url, {
      method: 'POST',
      headers: { authorization: `token ${STAND_IN_TOKEN}` },
      body: '{"event_type":"e"}',
      signal: AbortSignal.timeout(200),
    })
    await expect(hung).rejects.toThrow(/aborted due to timeout/)
    const after = await post(url, { event_type: 'e' })

    expect(statuses).toEqual([429, 429])
    expect(after.status).toBe(204)
    expect(github.requests.map((r) => r.status)).toEqual([429, 429, null, 204])
  })

  it('rejects waitForDispatches with a clear message when too few come', async () => {
    const github = await start()

    await expect(github.waitForDispatches(1, 50)).rejects.toThrow(
      'the GitHub stand-in accepted 0 of 1 expected dispatches after 50 ms',
    )
  })
})

describe('the stand-in for GitHub App installation tokens', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const now = () => Math.floor(Date.now() / 1000)

  it('hands out a token for a JWT signed with the app key, and accepts that token', async () => {
    const github = await start({
      app: { appId: 1234, publicKey: keys.publicKey, installationId: 42 },
    })
    const jwt = appJwt(keys.privateKey, { iat: now() - 30, exp: now() + 540, iss: '1234' })

    const response = await post(
      `${github.url}/app/installations/42/access_tokens`,
      {},
      `Bearer ${jwt}`,
    )
    const { token, expires_at } = (await response.json()) as { token: string; expires_at: string }
    const dispatch = await post(
      `${github.url}/repos/acme/deploy/dispatches`,
      { event_type: 'e' },
      `token ${token}`,
    )

    expect(response.status).toBe(201)
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now())
    expect(github.issuedTokens).toEqual([token])
    expect(dispatch.status).toBe(204)
  })

  it.each([
    [
      'another key',
      () =>
        appJwt(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, {
          iat: now(),
          exp: now() + 60,
          iss: '1234',
        }),
      401,
    ],
    [
      'another app',
      () => appJwt(keys.privateKey, { iat: now(), exp: now() + 60, iss: '999' }),
      401,
    ],
    [
      'an expired JWT',
      () => appJwt(keys.privateKey, { iat: now() - 700, exp: now() - 100, iss: '1234' }),
      401,
    ],
    ['no JWT', () => 'not-a-jwt', 401],
  ])('refuses a JWT of %s', async (_, jwt, status) => {
    const github = await start({ app: { appId: 1234, publicKey: keys.publicKey } })

    const response = await post(
      `${github.url}/app/installations/42/access_tokens`,
      {},
      `Bearer ${jwt()}`,
    )

    expect(response.status).toBe(status)
    expect(github.issuedTokens).toHaveLength(0)
  })

  it('answers 404 for another installation', async () => {
    const github = await start({
      app: { appId: 1234, publicKey: keys.publicKey, installationId: 42 },
    })
    const jwt = appJwt(keys.privateKey, { iat: now(), exp: now() + 60, iss: 1234 })

    const response = await post(
      `${github.url}/app/installations/7/access_tokens`,
      {},
      `Bearer ${jwt}`,
    )

    expect(response.status).toBe(404)
  })
})

describe('the stand-in for commit statuses', () => {
  const sha = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'

  it('accepts a status that fits repos/create-commit-status with 201 and records it', async () => {
    const github = await start()
    const response = await post(`${github.url}/repos/acme/app/statuses/${sha}`, {
      state: 'success',
      context: 'hookchain/release/1',
      description: '387 tests PASSED',
      target_url: 'https://github.com/acme/tests/actions/runs/1',
    })
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({
      state: 'success',
      context: 'hookchain/release/1',
    })
    expect(github.statuses).toMatchObject([
      { repository: 'acme/app', sha, state: 'success', description: '387 tests PASSED' },
    ])
  })

  it.each([
    ['no state', { context: 'ci' }, /state/],
    ['an unknown state', { state: 'cancelled' }, /state/],
    [
      'a description over 140 characters',
      { state: 'error', description: 'x'.repeat(141) },
      /description is too long/,
    ],
  ])('refuses %s with 422', async (_name, body, message) => {
    const github = await start()
    const response = await post(`${github.url}/repos/acme/app/statuses/${sha}`, body)
    expect(response.status).toBe(422)
    expect(((await response.json()) as { message: string }).message).toMatch(message)
    expect(github.statuses).toEqual([])
  })
})
