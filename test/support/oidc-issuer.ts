import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { type LoopbackServer, startLoopbackServer } from './loopback-server.js'

/** How a token is signed: by the issuer's published key unless a test says otherwise. */
export interface SigningChoice {
  /** `other-key`: a key the issuer does not publish, under the kid it does publish. */
  key?: 'published' | 'other-key'
  /** The kid in the header; the published one by default, null for none. */
  kid?: string | null
  /** `HS256` signs with the published public key (PEM) as an HMAC secret: the classic confusion. */
  alg?: 'RS256' | 'HS256'
}

export interface LocalOidcIssuer {
  /** `http://127.0.0.1:<port>`: the issuer URL, as `iss` and the discovery document name it. */
  url: string
  /** The kid of the one key it publishes. */
  kid: string
  /** The paths asked of it, in order. */
  requests: string[]
  /** What it answers: `up`; `failing`: every path answers 500; `hanging`: nothing, ever. */
  state: 'up' | 'failing' | 'hanging'
  /** Members that replace those of its discovery document (`issuer`, `jwks_uri`). */
  discovery: Record<string, unknown>
  /** A JWT with these claims (none added), signed as `choice` says. */
  sign(claims: JWTPayload, choice?: SigningChoice): Promise<string>
  /** Stops answering (the port is closed): the issuer is down. */
  close(): Promise<void>
}

const KID = 'local-issuer-key-1'

/**
 * An OpenID issuer on 127.0.0.1: `/.well-known/openid-configuration` names `/jwks`, which
 * publishes one RSA key. Keys are made with jose for each issuer started.
 */
export async function startOidcIssuer(): Promise<LocalOidcIssuer> {
  const published = await generateKeyPair('RS256', { extractable: true })
  const other = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(published.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }
  const publicPem = await exportSPKI(published.publicKey)
  const requests: string[] = []
  let url = ''
  let server: LoopbackServer | null = null
  const issuer: LocalOidcIssuer = {
    get url() {
      return url
    },
    kid: KID,
    requests,
    state: 'up',
    discovery: {},
    async sign(claims, choice = {}) {
      const kid = choice.kid === undefined ? KID : choice.kid
      const header = { alg: choice.alg ?? 'RS256', typ: 'JWT', ...(kid === null ? {} : { kid }) }
      const key =
        choice.alg === 'HS256'
          ? new TextEncoder().encode(publicPem)
          : choice.key === 'other-key'
            ? other.privateKey
            : published.privateKey
      return new SignJWT(claims).setProtectedHeader(header).sign(key)
    },
    close: () => server?.close() ?? Promise.resolve(),
  }
  server = await startLoopbackServer((request, response) => {
    requests.push(request.url ?? '')
    if (issuer.state === 'hanging') return
    if (issuer.state === 'failing') {
      response.writeHead(500, { 'content-type': 'text/plain' }).end('failing on purpose')
      return
    }
    const json = (body: unknown) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (request.url === '/.well-known/openid-configuration') {
      json({
        issuer: url,
        jwks_uri: `${url}/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
        ...issuer.discovery,
      })
    } else if (request.url === '/jwks') {
      json({ keys: [jwk] })
    } else {
      response.writeHead(404).end()
    }
  })
  url = server.url
  return issuer
}

/** A header and claims as JSON, unsigned (`alg: none`): what no verifier may take. */
export function unsignedToken(claims: JWTPayload, kid = KID): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT', kid })}.${part(claims)}.`
}

/** Seconds since the epoch, `offset` seconds from now. */
export function epoch(offset = 0): number {
  return Math.floor(Date.now() / 1000) + offset
}

/** The claims of the token a Pub/Sub push subscription sends, valid for the next hour. */
export function pubSubClaims(
  issuer: LocalOidcIssuer,
  subscription: { audience: string; serviceAccount: string },
  changes: JWTPayload = {},
): JWTPayload {
  return {
    iss: issuer.url,
    aud: subscription.audience,
    azp: '113042352000000000000',
    sub: '113042352000000000000',
    email: subscription.serviceAccount,
    email_verified: true,
    iat: epoch(-5),
    exp: epoch(3595),
    ...changes,
  }
}

/** The claims of a GitHub Actions job's OIDC token, valid for the next five minutes. */
export function githubJobClaims(
  issuer: LocalOidcIssuer,
  job: { repository: string; sha: string; audience?: string },
  changes: JWTPayload = {},
): JWTPayload {
  const [owner] = job.repository.split('/')
  return {
    jti: `${Math.random().toString(36).slice(2)}-${Date.now()}`,
    sub: `repo:${job.repository}:ref:refs/heads/main`,
    aud: job.audience ?? 'hookchain',
    ref: 'refs/heads/main',
    sha: job.sha,
    repository: job.repository,
    repository_owner: owner,
    run_id: '4242',
    run_number: '17',
    run_attempt: '1',
    actor: 'octo-dev',
    workflow: 'Build',
    event_name: 'push',
    job_workflow_ref: `${job.repository}/.github/workflows/build.yml@refs/heads/main`,
    iss: issuer.url,
    nbf: epoch(-5),
    iat: epoch(-5),
    exp: epoch(295),
    ...changes,
  }
}
