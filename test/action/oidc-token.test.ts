import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fetchIdToken } from '../../src/action/start/oidc-token.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import {
  type OidcTokenStandIn,
  startOidcTokenStandIn,
  verifyJobToken,
} from '../support/oidc-token-stand-in.js'

const connection = { timeoutMs: 2000, retries: 2, backoffMs: 1, log: () => {} }

let oidc: OidcTokenStandIn
let receiver: HttpReceiver | undefined
beforeAll(async () => {
  oidc = await startOidcTokenStandIn({ repository: 'acme/app', sha: 'abc', signingKey: 'k' })
})
afterAll(() => oidc.close())
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

describe('fetchIdToken', () => {
  it('asks the runner for a token of the audience, as @actions/core does', async () => {
    const token = await fetchIdToken(
      { requestUrl: oidc.requestUrl, requestToken: oidc.requestToken, audience: 'relay a&b' },
      connection,
    )
    expect(oidc.audiences.at(-1)).toBe('relay a&b')
    expect(verifyJobToken(token, 'k')).toMatchObject({ aud: 'relay a&b', repository: 'acme/app' })
  })

  it('fails at once when the runner refuses the request token', async () => {
    const asked = oidc.audiences.length
    await expect(
      fetchIdToken(
        { requestUrl: oidc.requestUrl, requestToken: 'wrong', audience: 'hookchain' },
        connection,
      ),
    ).rejects.toThrow('Could not get the job’s OIDC token from the runner: HTTP 401 Unauthorized')
    expect(oidc.audiences.length).toBe(asked)
  })

  it('retries a runner in trouble, then says how often it tried', async () => {
    receiver = await startHttpReceiver({ reply: { status: 500, body: 'oops' } })
    await expect(
      fetchIdToken(
        { requestUrl: `${receiver.url}/idtoken?api-version=2.0`, requestToken: 't', audience: 'a' },
        connection,
      ),
    ).rejects.toThrow(
      'Could not get the job’s OIDC token from the runner after 3 attempts: HTTP 500 Internal Server Error: oops',
    )
    expect(receiver.requests.map((request) => request.path)).toEqual(
      Array(3).fill('/idtoken?api-version=2.0&audience=a'),
    )
  })

  it('refuses an answer without a token', async () => {
    receiver = await startHttpReceiver({ reply: { status: 200, body: { count: 1 } } })
    await expect(
      fetchIdToken(
        { requestUrl: `${receiver.url}/idtoken?x=1`, requestToken: 't', audience: 'a' },
        connection,
      ),
    ).rejects.toThrow('in the answer (HTTP 200 OK), there is no token ("value")')
  })
})
