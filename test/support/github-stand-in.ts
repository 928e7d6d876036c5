import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto'
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { requestBodySchema } from './github-openapi.js'
import { parseBody, readBody, startLoopbackServer, waitUntil } from './loopback-server.js'

/** The token the stand-in accepts unless told otherwise. */
export const STAND_IN_TOKEN = 'ghp_standintoken0000000000000000000000'

export interface GitHubStandInOptions {
  /** Accepted in `Authorization: token …` or `Bearer …`. Default: [STAND_IN_TOKEN]. */
  tokens?: string[]
  /** The GitHub App whose JWTs `POST /app/installations/{id}/access_tokens` accepts. */
  app?: {
    appId: string | number
    /** PEM or KeyObject; when given, the JWT's RS256 signature is verified with it. */
    publicKey?: string | KeyObject
    /** When given, other installations are 404. */
    installationId?: number
  }
  /** Repositories (`owner/name`) that exist; default: every one. */
  repositories?: string[] | null
}

export interface RecordedRequest {
  method: string
  /** Path and query, as received. */
  path: string
  headers: IncomingHttpHeaders
  /** Parsed JSON, or the text when it is not JSON; undefined when empty. */
  body: unknown
  rawBody: Buffer
  receivedAt: Date
  /** The status answered; null while unanswered (or never, for a hang). */
  status: number | null
}

export interface AcceptedDispatch {
  /** `owner/name` as the path gave it. */
  repository: string
  eventType: string
  clientPayload: Record<string, unknown> | undefined
  headers: IncomingHttpHeaders
  receivedAt: Date
}

export interface AcceptedStatus {
  /** `owner/name` as the path gave it. */
  repository: string
  sha: string
  state: string
  context: string
  description: string | undefined
  targetUrl: string | undefined
  receivedAt: Date
}

export interface Fault {
  status: number
  headers?: Record<string, string>
  /** JSON body; default GitHub's `{message, documentation_url}` for the status. */
  body?: unknown
}

/** Which requests a fault or a hang applies to. */
export type FaultRoute = 'dispatches' | 'access_tokens' | 'statuses' | 'any'

export interface GitHubStandIn {
  /** Use as `github.api_url`. */
  url: string
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** The dispatches answered 204. */
  dispatches: AcceptedDispatch[]
  /** The commit statuses answered 201. */
  statuses: AcceptedStatus[]
  /** Resolves with the accepted statuses once `until` holds for them. */
  waitForStatuses(
    until: (statuses: AcceptedStatus[]) => boolean,
    timeoutMs?: number,
  ): Promise<AcceptedStatus[]>
  /** Installation tokens handed out (they are then accepted). */
  issuedTokens: string[]
  /** Resolves with the accepted dispatches once there are at least `count`. */
  waitForDispatches(count: number, timeoutMs?: number): Promise<AcceptedDispatch[]>
  /** The next `times` matching requests get this answer instead (route default: dispatches). */
  fail(times: number, fault: Fault, route?: FaultRoute): void
  /** The next `times` matching requests get no answer at all (route default: dispatches). */
  hang(times: number, route?: FaultRoute): void
  /** Drops every fault and hang still planned: GitHub is well again. */
  recover(): void
  /** Which repositories exist from now on; null: every one. */
  setRepositories(repositories: string[] | null): void
  close(): Promise<void>
}

const DOCS = 'https://docs.github.com/rest'
const DISPATCH_DOCS = `${DOCS}/repos/repos#create-a-repository-dispatch-event`
const TOKEN_DOCS = `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`
const DISPATCH_PATH = /^\/repos\/([^/]+)\/([^/]+)\/dispatches$/
const TOKEN_PATH = /^\/app\/installations\/([^/]+)\/access_tokens$/
const STATUS_PATH = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/
const STATUS_DOCS = `${DOCS}/commits/statuses#create-a-commit-status`
const PAYLOAD_MAX_BYTES = 64 * 1024

let validators:
  | { dispatch: ValidateFunction; accessToken: ValidateFunction; status: ValidateFunction }
  | undefined

/** Request-body validators built from GitHub's OpenAPI description, once per process. */
function bodyValidators() {
  if (!validators) {
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats.default(ajv)
    validators = {
      dispatch: ajv.compile(requestBodySchema('repos/create-dispatch-event')),
      accessToken: ajv.compile(requestBodySchema('apps/create-installation-access-token')),
      status: ajv.compile(requestBodySchema('repos/create-commit-status')),
    }
  }
  return validators
}

type Action = { kind: 'fail'; fault: Fault } | { kind: 'hang' }

/**
 * A real HTTP server on 127.0.0.1 that plays api.github.com for what the relay calls:
 * repository dispatches and GitHub App installation tokens.
 */
export async function startGitHubStandIn(
  options: GitHubStandInOptions = {},
): Promise<GitHubStandIn> {
  const validate = bodyValidators()
  const tokens = new Set(options.tokens ?? [STAND_IN_TOKEN])
  const given = options.app?.publicKey
  const publicKey =
    given === undefined
      ? null
      : typeof given !== 'string' && given.type === 'public'
        ? given
        : createPublicKey(given)
  let repositories = normaliseRepositories(options.repositories ?? null)
  const requests: RecordedRequest[] = []
  const dispatches: AcceptedDispatch[] = []
  const statuses: AcceptedStatus[] = []
  const issuedTokens: string[] = []
  const planned: { route: FaultRoute; remaining: number; action: Action }[] = []
  const listeners = new Set<() => void>()
  const rateLimitReset = Math.floor(Date.now() / 1000) + 3600
  let used = 0

  const plannedFor = (route: FaultRoute): Action | null => {
    const next = planned.find((p) => p.remaining > 0 && (p.route === 'any' || p.route === route))
    if (!next) return null
    next.remaining -= 1
    return next.action
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const rawBody = await readBody(request)
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      body: parseBody(rawBody),
      rawBody,
      receivedAt: new Date(),
      status: null,
    }
    requests.push(recorded)
    used += 1
    const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      recorded.status = status
      response.writeHead(status, {
        'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(Math.max(0, 5000 - used)),
        'x-ratelimit-reset': String(rateLimitReset),
        'x-ratelimit-used': String(used),
        'x-ratelimit-resource': 'core',
        ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...headers,
      })
      response.end(body === undefined ? undefined : JSON.stringify(body))
      for (const listener of listeners) listener()
    }

    const pathname = new URL(recorded.path, 'http://stand-in').pathname
    const dispatch = recorded.method === 'POST' ? DISPATCH_PATH.exec(pathname) : null
    const tokenRoute = recorded.method === 'POST' ? TOKEN_PATH.exec(pathname) : null
    const statusRoute = recorded.method === 'POST' ? STATUS_PATH.exec(pathname) : null
    if (!dispatch && !tokenRoute && !statusRoute)
      return answer(404, { message: 'Not Found', documentation_url: DOCS })

    const action = plannedFor(dispatch ? 'dispatches' : statusRoute ? 'statuses' : 'access_tokens')
    if (action?.kind === 'hang') return
    if (action?.kind === 'fail') {
      const { status, headers, body } = action.fault
      return answer(
        status,
        body ?? { message: defaultMessage(status), documentation_url: DOCS },
        headers,
      )
    }

    if (statusRoute) {
      const owner = decodeURIComponent(statusRoute[1] ?? '')
      const repo = decodeURIComponent(statusRoute[2] ?? '')
      const sha = decodeURIComponent(statusRoute[3] ?? '')
      const credential = credentialOf(request.headers.authorization)
      if (!credential || !tokens.has(credential)) {
        return answer(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' })
      }
      if (repositories && !repositories.has(`${owner}/${repo}`.toLowerCase())) {
        return answer(404, { message: 'Not Found', documentation_url: STATUS_DOCS, status: '404' })
      }
      if (typeof recorded.body === 'string') {
        return answer(400, { message: 'Problems parsing JSON', documentation_url: STATUS_DOCS })
      }
      const problems = validate.status(recorded.body) ? [] : describe(validate.status.errors)
      const body = (recorded.body ?? {}) as {
        state?: string
        context?: string
        description?: string
        target_url?: string
      }
      if (!/^[0-9a-f]{40}$/.test(sha)) {
        problems.push({ field: 'sha', code: 'invalid', message: `No commit found for SHA: ${sha}` })
      }
      if ((body.description?.length ?? 0) > 140) {
        problems.push({
          field: 'description',
          code: 'custom',
          message: 'description is too long (maximum is 140 characters)',
        })
      }
      if (problems.length > 0) return answer(422, validationFailed(problems, STATUS_DOCS))
      const accepted: AcceptedStatus = {
        repository: `${owner}/${repo}`,
        sha,
        state: body.state ?? '',
        context: body.context ?? 'default',
        description: body.description,
        targetUrl: body.target_url,
        receivedAt: recorded.receivedAt,
      }
      statuses.push(accepted)
      const at = recorded.receivedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')
      return answer(201, {
        url: `https://api.github.com/repos/${owner}/${repo}/statuses/${sha}`,
        avatar_url: null,
        id: statuses.length,
        node_id: `SC_${statuses.length}`,
        state: accepted.state,
        description: accepted.description ?? null,
        target_url: accepted.targetUrl ?? null,
        context: accepted.context,
        created_at: at,
        updated_at: at,
        creator: null,
      })
    }

    if (dispatch) {
      const owner = decodeURIComponent(dispatch[1] ?? '')
      const repo = decodeURIComponent(dispatch[2] ?? '')
      const credential = credentialOf(request.headers.authorization)
      if (!credential) {
        return answer(401, {
          message: 'Requires authentication',
          documentation_url: DOCS,
          status: '401',
        })
      }
      if (!tokens.has(credential)) {
        return answer(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' })
      }
      if (repositories && !repositories.has(`${owner}/${repo}`.toLowerCase())) {
        return answer(404, {
          message: 'Not Found',
          documentation_url: DISPATCH_DOCS,
          status: '404',
        })
      }
      if (typeof recorded.body === 'string') {
        return answer(400, { message: 'Problems parsing JSON', documentation_url: DISPATCH_DOCS })
      }
      const problems = validate.dispatch(recorded.body) ? [] : describe(validate.dispatch.errors)
      const body = (recorded.body ?? {}) as {
        event_type?: string
        client_payload?: Record<string, unknown>
      }
      if (
        body.client_payload &&
        Buffer.byteLength(JSON.stringify(body.client_payload)) >= PAYLOAD_MAX_BYTES
      ) {
        problems.push({
          field: 'client_payload',
          code: 'invalid',
          message: 'client_payload must be less than 64KB',
        })
      }
      if (problems.length > 0) return answer(422, validationFailed(problems, DISPATCH_DOCS))
      dispatches.push({
        repository: `${owner}/${repo}`,
        eventType: body.event_type ?? '',
        clientPayload: body.client_payload,
        headers: request.headers,
        receivedAt: recorded.receivedAt,
      })
      return answer(204)
    }

    const installationId = Number(tokenRoute?.[1])
    const jwtProblem = checkAppJwt(
      request.headers.authorization,
      options.app?.appId ?? null,
      publicKey,
    )
    if (jwtProblem)
      return answer(401, { message: jwtProblem, documentation_url: DOCS, status: '401' })
    const expected = options.app?.installationId
    if (
      !Number.isInteger(installationId) ||
      (expected !== undefined && installationId !== expected)
    ) {
      return answer(404, { message: 'Not Found', documentation_url: TOKEN_DOCS, status: '404' })
    }
    if (recorded.body !== undefined && !validate.accessToken(recorded.body)) {
      return answer(422, validationFailed(describe(validate.accessToken.errors), TOKEN_DOCS))
    }
    const token = `ghs_standin${issuedTokens.length}${randomBytes(12).toString('hex')}`
    issuedTokens.push(token)
    tokens.add(token)
    return answer(201, {
      token,
      expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      permissions: { contents: 'write', metadata: 'read' },
      repository_selection: 'all',
    })
  }

  const server = await startLoopbackServer(handle)
  return {
    url: server.url,
    requests,
    dispatches,
    statuses,
    issuedTokens,
    waitForStatuses(until, timeoutMs = 5000) {
      return waitUntil(
        () => (until(statuses) ? [...statuses] : undefined),
        (changed) => {
          listeners.add(changed)
          return () => listeners.delete(changed)
        },
        timeoutMs,
        () =>
          `the GitHub stand-in's ${statuses.length} statuses never met the condition: ${JSON.stringify(statuses.map((s) => [s.context, s.state]))}`,
      )
    },
    waitForDispatches(count, timeoutMs = 5000) {
      return waitUntil(
        () => (dispatches.length >= count ? [...dispatches] : undefined),
        (changed) => {
          listeners.add(changed)
          return () => listeners.delete(changed)
        },
        timeoutMs,
        () => `the GitHub stand-in accepted ${dispatches.length} of ${count} expected dispatches`,
      )
    },
    fail(times, fault, route = 'dispatches') {
      planned.push({ route, remaining: times, action: { kind: 'fail', fault } })
    },
    hang(times, route = 'dispatches') {
      planned.push({ route, remaining: times, action: { kind: 'hang' } })
    },
    recover() {
      planned.length = 0
    },
    setRepositories(list) {
      repositories = normaliseRepositories(list)
    },
    close: () => server.close(),
  }
}

function normaliseRepositories(list: string[] | null): Set<string> | null {
  return list ? new Set(list.map((name) => name.toLowerCase())) : null
}

function credentialOf(header: string | undefined): string | null {
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header ?? '')
  return match?.[1] ?? null
}

/** Why GitHub would refuse this app JWT, or null. */
function checkAppJwt(
  header: string | undefined,
  appId: string | number | null,
  publicKey: KeyObject | null,
): string | null {
  const match = /^bearer\s+([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(header ?? '')
  if (!match) return 'A JSON web token could not be decoded'
  const [, head = '', payload = '', signature = ''] = match
  let claims: { iat?: unknown; exp?: unknown; iss?: unknown }
  try {
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: unknown }
    if (header.alg !== 'RS256') return `'alg' must be RS256, not ${String(header.alg)}`
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return 'A JSON web token could not be decoded'
  }
  if (
    publicKey &&
    !verify(
      'sha256',
      Buffer.from(`${head}.${payload}`),
      publicKey,
      Buffer.from(signature, 'base64url'),
    )
  ) {
    return 'A JSON web token could not be decoded'
  }
  const now = Math.floor(Date.now() / 1000)
  if (typeof claims.exp !== 'number' || claims.exp <= now) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
  }
  if (typeof claims.iat !== 'number' || claims.iat > now + 60) {
    return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
  }
  if (appId !== null && String(claims.iss) !== String(appId)) return 'Integration not found'
  return null
}

interface Problem {
  field: string
  code: string
  message: string
}

function describe(errors: ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).map((e) => {
    const field =
      e.keyword === 'required'
        ? String(e.params.missingProperty)
        : e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(body)'
    return {
      field,
      code: e.keyword === 'required' ? 'missing_field' : 'invalid',
      message: `${field} ${e.message ?? 'is invalid'}`,
    }
  })
}

function validationFailed(problems: Problem[], documentationUrl: string) {
  return {
    message: `Invalid request.\n\n${problems.map((p) => p.message).join('\n')}`,
    documentation_url: documentationUrl,
    errors: problems.map((p) => ({ resource: 'Repository', ...p })),
    status: '422',
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
      return 'Bad credentials'
    case 403:
      return 'Resource not accessible by integration'
    case 429:
      return 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
    default:
      return status >= 500 ? 'Server Error' : (STATUS_CODES[status] ?? 'Error')
  }
}
