import { createHmac, randomBytes } from 'node:crypto'
import { startLoopbackServer } from './loopback-server.js'
import { githubJobClaims, type LocalOidcIssuer } from './oidc-issuer.js'

/** The issuer of GitHub Actions' OIDC tokens. */
export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com'

/** The claims of a job's token that a relay looks at. */
export interface JobClaims {
  iss: string
  aud: string
  sub: string
  repository: string
  sha: string
  exp: number
}

export interface OidcTokenStandIn {
  /** What the runner sets as ACTIONS_ID_TOKEN_REQUEST_URL (it already has a query). */
  requestUrl: string
  /** What the runner sets as ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string
  /** Every token handed out, with its audience. */
  issued: { audience: string; token: string }[]
  /** The audience of each request, or null when it had none. */
  audiences: (string | null)[]
  close(): Promise<void>
}

/**
 * The runner's OIDC token endpoint, on 127.0.0.1: `GET <requestUrl>&audience=<aud>` with
 * `Authorization: Bearer <requestToken>` answers `{ "value": "<jwt>" }`, a token for the job of
 * `repository` at `sha`. The tokens are signed with `signingKey` (HS256 rather than GitHub's
 * RS256, so that a stand-in relay can check them without a JWKS).
 */
export async function startOidcTokenStandIn(options: {
  repository: string
  sha: string
  /** HS256 tokens for a stand-in relay; or, with `issuer`, none. */
  signingKey?: string
  /** Tokens this issuer signs (RS256, with its published key): what a real relay verifies. */
  issuer?: LocalOidcIssuer
}): Promise<OidcTokenStandIn> {
  const requestToken = randomBytes(16).toString('hex')
  const issued: OidcTokenStandIn['issued'] = []
  const audiences: OidcTokenStandIn['audiences'] = []
  const server = await startLoopbackServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in')
    if (request.method !== 'GET' || url.pathname !== '/idtoken') {
      response.writeHead(404).end()
      return
    }
    if (request.headers.authorization !== `Bearer ${requestToken}`) {
      response.writeHead(401, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ message: 'Bad credentials' }))
      return
    }
    const audience = url.searchParams.get('audience')
    audiences.push(audience)
    // GitHub's default audience is the URL of the repository's owner.
    const aud = audience ?? `https://github.com/${options.repository.split('/')[0]}`
    const { issuer } = options
    const token = issuer
      ? await issuer.sign(
          githubJobClaims(issuer, {
            repository: options.repository,
            sha: options.sha,
            audience: aud,
          }),
        )
      : signJobToken(
          {
            iss: GITHUB_OIDC_ISSUER,
            aud,
            sub: `repo:${options.repository}:ref:refs/heads/main`,
            repository: options.repository,
            sha: options.sha,
            exp: Math.floor(Date.now() / 1000) + 300,
          },
          options.signingKey ?? '',
        )
    issued.push({ audience: aud, token })
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    response.end(JSON.stringify({ value: token }))
  })
  return {
    requestUrl: `${server.url}/idtoken?api-version=2.0`,
    requestToken,
    issued,
    audiences,
    close: () => server.close(),
  }
}

export function signJobToken(claims: JobClaims, key: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = base64url(JSON.stringify(claims))
  const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

/** The claims of a token `signJobToken` made with `key`; null when it is not one. */
export function verifyJobToken(token: string, key: string): JobClaims | null {
  const [header, payload, signature] = token.split('.')
  if (!header || !payload || !signature) return null
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')
  if (signature !== expected) return null
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JobClaims
  } catch {
    return null
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url')
}
